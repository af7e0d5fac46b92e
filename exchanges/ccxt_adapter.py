"""Real venues through ccxt: one ExchangeAdapter for Binance, Bybit, OKX, KuCoin, MEXC and Gate.

One code path; everything that differs between venues is data in `exchanges/venues.py`. ccxt
stays inside this module: calls go through `translated()` (ccxt errors → our taxonomy, once),
every ccxt number becomes a Decimal via its shortest text form, and only our own types leave.

Quantities are always base-asset quantities (BTC for BTC/USDT and BTC/USDT:USDT). On swaps ccxt
counts amounts in contracts of `contractSize` base units (OKX BTC-USDT-SWAP: 0.01 BTC, MEXC
BTC_USDT: 0.0001 BTC, Binance/Bybit: 1), so the catalog's step/min/max are scaled to base
units here, a request's quantity is divided by the contract size before it is sent, and amounts
and fills coming back are multiplied by it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import ccxt

from trading.core.precision import order_violations
from trading.core.types import MarketRules, OrderSide

from .ccxt_errors import translated
from .ccxt_reports import (
    base_unit_rules,
    contract_size_of,
    decimal_or_zero,
    first_with,
    is_order_for,
    provisional_report,
    report_from_ccxt,
    to_ccxt_number,
)
from .core.adapter import (
    Balance,
    ExchangeError,
    InvalidOrder,
    MarketCatalog,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from .core.candles import Candle
from .markets import catalog_from_ccxt_markets, to_decimal
from .ratelimit import limits_from_exchange_info
from .venues import SWAP, Lookup, SandboxKind, VenueProfile, client_id_for, our_id_from, profile_for

log = logging.getLogger(__name__)

ExchangeFactory = Callable[[dict[str, Any]], Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_factory(profile: VenueProfile) -> ExchangeFactory:
    """Build the real ccxt class for a venue (the only place that names a ccxt class)."""
    return lambda config: getattr(ccxt, profile.ccxt_id)(config)


class CcxtExchange:
    """A real venue account. Implements ExchangeAdapter; every method may raise an ExchangeError."""

    def __init__(
        self,
        venue: str,
        *,
        api_key: str = "",
        secret: str = "",
        passphrase: str = "",
        sandbox: bool = False,
        market_type: str = "spot",
        clock: Callable[[], datetime],
        exchange_factory: ExchangeFactory | None = None,
    ) -> None:
        profile = profile_for(venue)
        if market_type not in profile.market_types:
            raise ValueError(f"{profile.label} has no {market_type!r} markets here")
        if sandbox and market_type not in profile.sandbox:
            raise ValueError(f"{profile.label} has no testnet for {market_type} that this adapter supports")
        if api_key and profile.needs_passphrase and not passphrase:
            raise ValueError(f"{profile.label} API keys need a passphrase")
        self.profile = profile
        self.venue = profile.venue
        self.market_type = market_type
        self.sandbox = sandbox
        self._clock = clock
        config: dict[str, Any] = {"enableRateLimit": True}
        credentials = {"apiKey": api_key, "secret": secret, "password": passphrase}
        config.update({key: value for key, value in credentials.items() if value})
        self._exchange = (exchange_factory or default_factory(profile))(config)
        self._configure(self._exchange)
        self._catalog: MarketCatalog | None = None
        self._contract_size: dict[str, Decimal] = {}
        self._rate_limit_info: dict[str, Any] | None = None
        self._ours_by_venue: dict[str, str] = {}  # venue client id → ours, for shortened ids

    @property
    def request_timeout_sec(self) -> float:
        """How long a request we gave up on may still land at the venue (ccxt's timeout)."""
        return float(getattr(self._exchange, "timeout", 10_000) or 10_000) / 1000

    def _configure(self, ex: Any) -> None:
        ex.enableRateLimit = True  # ccxt spaces requests by the venue's request weights
        ex.enableLastJsonResponse = True  # keeps Binance's exchangeInfo rateLimits after a market load
        options = ex.options
        for key, value in self.profile.ccxt_options.items():
            options[key] = copy.deepcopy(value)
        # ccxt's class-level defaults are shared dicts: copy before editing.
        fetch_markets = dict(options.get("fetchMarkets") or {})
        fetch_markets.update(copy.deepcopy(dict(self.profile.fetch_markets_options)))
        fetch_markets["types"] = copy.deepcopy(self.profile.fetch_markets_types[self.market_type])
        options["fetchMarkets"] = fetch_markets
        options["defaultType"] = self.market_type
        if self.market_type == SWAP:
            options["defaultSubType"] = "linear"
        if self.sandbox:
            if self.profile.sandbox[self.market_type] is SandboxKind.DEMO:
                ex.enable_demo_trading(True)
            else:
                ex.set_sandbox_mode(True)

    # ---- ExchangeAdapter ------------------------------------------------------------------

    def load_markets(self) -> MarketCatalog:
        """Reload the venue's markets; rules are in base-asset units (see the module doc)."""
        ex = self._exchange
        with self._translated():
            markets = ex.load_markets(True, dict(self.profile.load_markets_params))
        last_body = getattr(ex, "last_json_response", None)
        if isinstance(last_body, dict) and "rateLimits" in last_body:
            self._rate_limit_info = {"rateLimits": last_body["rateLimits"]}
        wanted = {symbol: market for symbol, market in markets.items() if self._tradable_type(market)}
        catalog = catalog_from_ccxt_markets(wanted, ex.precisionMode)
        sizes = {symbol: contract_size_of(market) for symbol, market in wanted.items()}
        rules = {
            symbol: base_unit_rules(rule, sizes[symbol]) if sizes[symbol] != 1 else rule
            for symbol, rule in catalog.rules.items()
        }
        self._contract_size = sizes
        self._catalog = MarketCatalog(rules=rules, by_exchange_symbol=catalog.by_exchange_symbol)
        return self._catalog

    def create_order(self, request: OrderRequest) -> OrderReport:
        """Check the filters, send with the venue's client-id field, follow up thin acks."""
        rules = self._rules(request.symbol)
        self._check_filters(request, rules)
        venue_cid = self._venue_id(request.client_order_id)
        size = self._contract_size.get(request.symbol, Decimal(1))
        params: dict[str, Any] = {"clientOrderId": venue_cid}
        if request.reduce_only and self.market_type == SWAP:
            params["reduceOnly"] = True
        price = request.price if request.type is OrderType.LIMIT else None
        if (
            price is None
            and request.side is OrderSide.BUY
            and self.market_type != SWAP
            and self.profile.market_buy_needs_price
        ):
            price = request.price or self._last_price(request.symbol)
        ex = self._exchange
        with self._translated():
            order = ex.create_order(
                request.symbol,
                request.type.value,
                request.side.value,
                to_ccxt_number(request.qty / size, "quantity"),
                None if price is None else to_ccxt_number(price, "price"),
                params,
            )
        if self.profile.thin_create_ack or order.get("status") is None:
            fetched = self._lookup_quietly(request.client_order_id, request.symbol)
            if fetched is not None:
                return fetched
            log.warning("%s: no order details after create; reporting it open", request.client_order_id)
            return provisional_report(request, order, self._clock())
        return self._report(order, request.client_order_id, request)

    def cancel_order(self, client_order_id: str, symbol: str) -> OrderReport:
        """Cancel by the venue's order id (looked up by client id). A done order comes back as is."""
        current = self.fetch_order(client_order_id, symbol)
        if current is None:
            raise OrderNotFound(f"{self.profile.label} does not know order {client_order_id!r}")
        if current.is_done:
            return current
        ex = self._exchange
        try:
            with self._translated():
                order = ex.cancel_order(current.exchange_order_id, symbol)
        except OrderNotFound:
            # Filled or cancelled between the lookup and the cancel: report what it became.
            after = self.fetch_order(client_order_id, symbol)
            if after is None:
                raise
            return after
        if not self.profile.thin_cancel_ack and order.get("status") is not None:
            return self._report(order, client_order_id)
        after = self._lookup_quietly(client_order_id, symbol)
        if after is None:
            return replace(current, status=OrderStatus.CANCELLED, updated_at=self._clock())
        if after.status is OrderStatus.OPEN:
            # The venue acknowledged the cancel; its order list may lag by a moment.
            return replace(after, status=OrderStatus.CANCELLED)
        return after

    def fetch_order(self, client_order_id: str, symbol: str) -> OrderReport | None:
        venue_cid = self._venue_id(client_order_id)
        order = self._find(venue_cid, symbol)
        return None if order is None else self._report(order, client_order_id)

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        ex = self._exchange
        self._ensure_markets()
        with self._translated():
            orders = ex.fetch_open_orders(symbol)
        return [self._report(order, self._our_id(order.get("clientOrderId"))) for order in orders]

    def fetch_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """Last prices from ONE fetch_tickers call; unknown symbols are left out, not fatal."""
        self._ensure_markets()
        known = [symbol for symbol in dict.fromkeys(symbols) if symbol in self._exchange.markets]
        if not known:
            return {}
        ex = self._exchange
        with self._translated():
            tickers = ex.fetch_tickers(known)
        prices: dict[str, Decimal] = {}
        for symbol in known:
            ticker = tickers.get(symbol) or {}
            last = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
            if last is not None and to_decimal(last) > 0:
                prices[symbol] = to_decimal(last)
        return prices

    def fetch_candles(
        self, symbol: str, timeframe: str, limit: int, since: datetime | None = None
    ) -> list[Candle]:
        """The market's last `limit` candles (ccxt `fetch_ohlcv`), or its first `limit` from `since`
        on; oldest first; rows with a missing price (some venues' gaps) are left out."""
        self._ensure_markets()
        since_ms = None if since is None else int((since - _EPOCH).total_seconds() * 1000)
        with self._translated():
            rows = self._exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        return [
            Candle(
                opened_at=_EPOCH + timedelta(milliseconds=int(row[0])),
                open=to_decimal(row[1]),
                high=to_decimal(row[2]),
                low=to_decimal(row[3]),
                close=to_decimal(row[4]),
                volume=to_decimal(row[5] if row[5] is not None else 0),
            )
            for row in rows
            if None not in row[1:5]
        ]

    def fetch_balance(self) -> dict[str, Balance]:
        """Every asset with a non-zero balance; `locked` is what open orders hold."""
        ex = self._exchange
        self._ensure_markets()
        with self._translated():
            raw = ex.fetch_balance()
        free, used = raw.get("free") or {}, raw.get("used") or {}
        balances: dict[str, Balance] = {}
        for asset in sorted(set(free) | set(used)):
            amount = decimal_or_zero(free.get(asset))
            locked = decimal_or_zero(used.get(asset))
            if amount or locked:
                balances[asset] = Balance(asset, amount, locked)
        return balances

    def hint_price(self, symbol: str, price: Decimal) -> None:
        """Real venues have their own prices: nothing to do."""

    # ---- for the engine's scheduler and status page ---------------------------------------

    def order_rate_limits(self) -> tuple[float, float]:
        """(orders per second, burst) for OrderRateLimiter: the venue's stated limits if the last
        market load carried them (Binance exchangeInfo), else the profile's defaults."""
        return limits_from_exchange_info(self._rate_limit_info, self.profile)

    # ---- internals ------------------------------------------------------------------------

    def _translated(self) -> Any:
        return translated(self._exchange, self.profile.not_found_markers)

    def _tradable_type(self, market: dict[str, Any]) -> bool:
        if self.market_type == SWAP:
            return bool(market.get("swap")) and bool(market.get("linear"))
        return bool(market.get("spot"))

    def _ensure_markets(self) -> MarketCatalog:
        return self._catalog if self._catalog is not None else self.load_markets()

    def _rules(self, symbol: str) -> MarketRules:
        return self._ensure_markets().require(symbol, self.profile.label)

    def _check_filters(self, request: OrderRequest, rules: MarketRules) -> None:
        """Refuse before sending what the venue would refuse (ccxt checks none of the limits)."""
        if request.type is OrderType.LIMIT and (request.price is None or request.price <= 0):
            raise InvalidOrder(f"{request.symbol}: a limit order needs a positive price")
        ignore: set[str] = set()
        check_price = request.price
        if request.type is OrderType.MARKET:
            ignore.add("tick")  # a market order's price is only a reference
            if check_price is None:  # no reference: the notional cannot be judged here
                ignore.add("min_notional")
                check_price = rules.tick_size
        assert check_price is not None
        violations = [v for v in order_violations(check_price, request.qty, rules) if v.code not in ignore]
        if violations:
            raise InvalidOrder(f"{request.symbol}: " + "; ".join(v.message for v in violations))

    def _venue_id(self, our_id: str) -> str:
        try:
            venue_id = client_id_for(self.profile, our_id)
        except ValueError as exc:
            raise InvalidOrder(str(exc)) from exc
        self._ours_by_venue[venue_id] = our_id
        return venue_id

    def _our_id(self, venue_id: str | None) -> str:
        if not venue_id:
            return ""
        return self._ours_by_venue.get(venue_id) or our_id_from(self.profile, venue_id) or ""

    def _find(self, venue_cid: str, symbol: str) -> dict[str, Any] | None:
        """The venue's order dict for a client id, or None if the venue does not know it."""
        self._ensure_markets()
        ex = self._exchange
        if self.profile.lookup is Lookup.PARAM:
            try:
                with self._translated():
                    order = ex.fetch_order("", symbol, {"clientOrderId": venue_cid})
            except OrderNotFound:
                order = None
            if is_order_for(order, venue_cid):
                return order
            if not self.profile.lookup_search_fallback:
                return None
            with self._translated():
                found = first_with(venue_cid, ex.fetch_open_orders(symbol))
                return found or first_with(venue_cid, ex.fetch_closed_orders(symbol))
        param = {self.profile.client_id.param: venue_cid}
        with self._translated():
            found = first_with(venue_cid, ex.fetch_open_orders(symbol, None, None, dict(param)))
            if found is None:
                history = ex.fetch_canceled_and_closed_orders(symbol, None, None, dict(param))
                found = first_with(venue_cid, history)
        return found

    def _lookup_quietly(self, client_order_id: str, symbol: str) -> OrderReport | None:
        """A follow-up fetch after a thin ack; a failure here must not hide that the call worked."""
        try:
            return self.fetch_order(client_order_id, symbol)
        except ExchangeError as exc:
            log.warning("%s: follow-up fetch failed: %s", client_order_id, exc)
            return None

    def _last_price(self, symbol: str) -> Decimal:
        price = self.fetch_prices([symbol]).get(symbol)
        if price is None:
            raise InvalidOrder(f"{symbol}: no price to size a market buy on {self.profile.label}")
        return price

    def _report(self, order: dict[str, Any], our_id: str, request: OrderRequest | None = None) -> OrderReport:
        symbol = order.get("symbol") or (request.symbol if request else "")
        rules = self._catalog.rules.get(symbol) if self._catalog else None
        return report_from_ccxt(
            order,
            our_id=our_id,
            contract_size=self._contract_size.get(symbol, Decimal(1)),
            step_size=rules.step_size if rules else Decimal(0),
            request=request,
            now=self._clock(),
        )
