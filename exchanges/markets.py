"""Market rules: ccxt markets → MarketRules, the bundled Binance spot catalog, and the DB cache.

The paper exchange's markets come from a real Binance `GET /api/v3/exchangeInfo` response run
through ccxt's own Binance parser, the same code the live adapter uses, so paper and live
rules can never disagree.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from trading.core.types import MarketRules

from .core.adapter import MarketCatalog
from .models import ExchangeAccount, MarketRule

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
BINANCE_SPOT_EXCHANGE_INFO = DATA_DIR / "binance_spot_exchangeInfo_2023-09-08.json"

# ccxt's precision modes (ccxt.base.decimal_to_precision), copied so this module need not
# import ccxt (0.4 s, 64 MB); a unit test asserts they still match the installed ccxt.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4

# MarketRule columns are DecimalField(30, 12): values beyond this cannot be stored exactly.
_DB_QUANTUM = Decimal("1E-12")
_DB_MAX = Decimal(10) ** 18


def to_decimal(value: Any) -> Decimal:
    """Convert one ccxt number (float, int or str) to Decimal via its shortest text form."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a number: {value!r}")
    return plain(Decimal(str(value)))


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent form for whole numbers (100, not 1E+2)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal


def _grid(value: Any, precision_mode: int, what: str, symbol: str) -> Decimal:
    if value is None:
        raise ValueError(f"{symbol}: ccxt gives no {what} precision")
    if precision_mode == TICK_SIZE:
        grid = to_decimal(value)
    elif precision_mode == DECIMAL_PLACES:
        places = to_decimal(value)
        if places != places.to_integral_value():
            raise ValueError(f"{symbol}: {what} precision {value!r} is not a whole number of decimals")
        grid = plain(Decimal(1).scaleb(-int(places)))
    elif precision_mode == SIGNIFICANT_DIGITS:
        # A significant-digits grid depends on the price's magnitude, so no fixed tick/step
        # describes it. Refusing is safer than inventing a grid the venue would not accept;
        # none of our six venues uses this mode (all are TICK_SIZE in ccxt 4.5.90).
        raise ValueError(f"{symbol}: SIGNIFICANT_DIGITS precision cannot be expressed as a tick/step")
    else:
        raise ValueError(f"{symbol}: unknown ccxt precisionMode {precision_mode!r}")
    if grid <= 0:
        raise ValueError(f"{symbol}: {what} precision {value!r} gives a non-positive grid")
    return grid


def _limit(market: dict[str, Any], kind: str, bound: str) -> Decimal | None:
    value = ((market.get("limits") or {}).get(kind) or {}).get(bound)
    return None if value is None else to_decimal(value)


def rules_from_ccxt_market(market: dict[str, Any], precision_mode: int = TICK_SIZE) -> MarketRules:
    """Normalise one ccxt unified market dict to MarketRules (exchange-agnostic).

    `precision_mode` is the exchange object's `precisionMode` (it is per exchange, not per
    market): TICK_SIZE means precision values already are the tick/step; DECIMAL_PLACES n
    means a grid of 10**-n; SIGNIFICANT_DIGITS raises ValueError (no fixed grid exists).
    min_qty / min_notional are 0 where ccxt has no limit; max_qty stays None.
    Raises ValueError when the market lacks price or amount precision.
    """
    symbol = market["symbol"]
    precision = market.get("precision") or {}
    return MarketRules(
        symbol=symbol,
        tick_size=_grid(precision.get("price"), precision_mode, "price", symbol),
        step_size=_grid(precision.get("amount"), precision_mode, "amount", symbol),
        min_qty=_limit(market, "amount", "min") or Decimal(0),
        min_notional=_limit(market, "cost", "min") or Decimal(0),
        max_qty=_limit(market, "amount", "max"),
    )


def catalog_from_ccxt_markets(markets: dict[str, dict[str, Any]], precision_mode: int) -> MarketCatalog:
    """Active markets become rules; every market, active or not, gets its venue spelling mapped."""
    rules: dict[str, MarketRules] = {}
    by_exchange_symbol: dict[str, str] = {}
    for symbol, market in markets.items():
        by_exchange_symbol[str(market["id"]).upper()] = symbol
        if market.get("active") is False:
            continue
        try:
            rules[symbol] = rules_from_ccxt_market(market, precision_mode)
        except ValueError as exc:
            log.warning("skipping market %s: %s", symbol, exc)
    return MarketCatalog(rules=rules, by_exchange_symbol=by_exchange_symbol)


def load_binance_spot_catalog(path: Path | None = None) -> MarketCatalog:
    """The paper exchange's markets: the bundled Binance spot exchangeInfo, parsed by ccxt.

    Cached per process and path (first call ~0.7 s: importing ccxt plus 2,292 markets).
    Treat the returned catalog as read-only: every caller shares it.
    """
    return _load_binance_spot_catalog(Path(path or BINANCE_SPOT_EXCHANGE_INFO).resolve())


@functools.lru_cache(maxsize=4)
def _load_binance_spot_catalog(path: Path) -> MarketCatalog:
    import ccxt  # lazy: costs ~0.4 s and ~64 MB, and only the engine process needs it

    with path.open("rb") as fh:
        exchange_info = json.load(fh)

    exchange = ccxt.binance({"enableRateLimit": False})

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        # Answer the one call load_markets() makes from the file; anything else is a bug
        # (or a ccxt upgrade that added a call) and must not silently reach the network.
        if url.split("?", 1)[0].endswith("/api/v3/exchangeInfo"):
            return exchange_info
        raise RuntimeError(f"offline Binance catalog: no stored response for {method} {url}")

    exchange.fetch = fetch
    # ccxt 4.5.90 keeps {"types": ["spot", "linear", "inverse"], ...}; copy before editing
    # so the class-level default dict is never mutated.
    fetch_markets = dict(exchange.options.get("fetchMarkets") or {})
    fetch_markets["types"] = ["spot"]
    exchange.options["fetchMarkets"] = fetch_markets
    exchange.has["fetchCurrencies"] = False
    markets = exchange.load_markets()
    return catalog_from_ccxt_markets(markets, exchange.precisionMode)


# ---- the DB cache (MarketRule rows), refreshed by the engine every ~60 s --------------------


def _storable(rules: MarketRules) -> MarketRules | None:
    """The rules as the DB will hold them, or None when a grid is finer than the columns allow."""
    for value in (rules.tick_size, rules.step_size, rules.min_qty, rules.min_notional):
        if value != value.quantize(_DB_QUANTUM) or value >= _DB_MAX:
            return None
    max_qty = rules.max_qty
    if max_qty is not None and (max_qty >= _DB_MAX or max_qty != max_qty.quantize(_DB_QUANTUM)):
        max_qty = None  # an unstorable cap is effectively no cap; the venue still enforces it
    return MarketRules(
        symbol=rules.symbol,
        tick_size=rules.tick_size,
        step_size=rules.step_size,
        min_qty=rules.min_qty,
        min_notional=rules.min_notional,
        max_qty=max_qty,
    )


_RULE_FIELDS = ("exchange_symbol", "tick_size", "step_size", "min_qty", "min_notional", "max_qty")


def sync_market_rules(account: ExchangeAccount, catalog: MarketCatalog, now: datetime) -> int:
    """Upsert the account's MarketRule rows from the catalog; return how many rows changed.

    Missing markets are created, changed ones updated, vanished or inactive ones marked
    inactive. Rows are compared before writing, so an unchanged catalog costs one SELECT and
    one UPDATE of `account.markets_synced_at`. `fetched_at` records when a row last changed.
    """
    exchange_symbol_of = {unified: raw for raw, unified in catalog.by_exchange_symbol.items()}
    wanted: dict[str, tuple[str, MarketRules]] = {}
    for symbol, rules in catalog.rules.items():
        stored = _storable(rules)
        if stored is None:
            log.warning("market %s: grid finer than 12 decimals, not cached", symbol)
            continue
        wanted[symbol] = (exchange_symbol_of.get(symbol, symbol.replace("/", "")), stored)

    existing = {row.symbol: row for row in MarketRule.objects.filter(account=account)}
    to_create: list[MarketRule] = []
    to_update: list[MarketRule] = []
    for symbol, (exchange_symbol, rules) in wanted.items():
        values = {
            "exchange_symbol": exchange_symbol,
            "tick_size": rules.tick_size,
            "step_size": rules.step_size,
            "min_qty": rules.min_qty,
            "min_notional": rules.min_notional,
            "max_qty": rules.max_qty,
        }
        row = existing.get(symbol)
        if row is None:
            to_create.append(
                MarketRule(account=account, symbol=symbol, active=True, fetched_at=now, **values)
            )
            continue
        if row.active and all(getattr(row, name) == value for name, value in values.items()):
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.active = True
        row.fetched_at = now
        to_update.append(row)
    for symbol, row in existing.items():
        if symbol not in wanted and row.active:
            row.active = False
            row.fetched_at = now
            to_update.append(row)

    with transaction.atomic():
        if to_create:
            MarketRule.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            MarketRule.objects.bulk_update(to_update, [*_RULE_FIELDS, "active", "fetched_at"], batch_size=500)
        account.markets_synced_at = now
        account.save(update_fields=["markets_synced_at"])
    return len(to_create) + len(to_update)


def rules_for(account: ExchangeAccount, symbol: str) -> MarketRules | None:
    """The cached rules of an active market by unified symbol, or None if unknown or inactive."""
    row = MarketRule.objects.filter(account=account, symbol=symbol, active=True).first()
    return row.to_rules() if row is not None else None
