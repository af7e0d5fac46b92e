"""ccxt markets → MarketRules, and the bundled Binance spot catalog built by ccxt's own parser."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchanges import markets
from exchanges.core.adapter import MarketCatalog
from exchanges.markets import (
    DECIMAL_PLACES,
    SIGNIFICANT_DIGITS,
    TICK_SIZE,
    catalog_from_ccxt_markets,
    load_binance_spot_catalog,
    rules_from_ccxt_market,
    to_decimal,
)
from trading.core.types import MarketRules

D = Decimal


def ccxt_market(
    symbol: str = "BTC/USDT",
    *,
    price: Any = 0.01,
    amount: Any = 1e-05,
    amount_min: Any = 1e-05,
    amount_max: Any = 9000.0,
    cost_min: Any = 5.0,
    active: bool | None = True,
    market_id: str | None = None,
) -> dict[str, Any]:
    """The shape of a ccxt unified market, with only the keys the conversion reads."""
    return {
        "id": market_id or symbol.replace("/", ""),
        "symbol": symbol,
        "active": active,
        "precision": {"price": price, "amount": amount},
        "limits": {
            "amount": {"min": amount_min, "max": amount_max},
            "cost": {"min": cost_min, "max": None},
            "price": {"min": None, "max": None},
        },
    }


@pytest.fixture(scope="session")
def binance_catalog() -> MarketCatalog:
    """The real bundled catalog, parsed once per test session (~0.7 s)."""
    return load_binance_spot_catalog()


def test_precision_mode_constants_match_installed_ccxt() -> None:
    from ccxt.base import decimal_to_precision as dtp

    assert (TICK_SIZE, DECIMAL_PLACES, SIGNIFICANT_DIGITS) == (
        dtp.TICK_SIZE,
        dtp.DECIMAL_PLACES,
        dtp.SIGNIFICANT_DIGITS,
    )


@pytest.mark.parametrize(
    ("market", "expected"),
    [
        (
            ccxt_market(),
            MarketRules("BTC/USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"), D("9000")),
        ),
        (  # floats in exponent form convert through str, not binary expansion
            ccxt_market("PEPE/USDT", price=1e-08, amount=1.0, amount_min=1.0, amount_max=92233720368.0),
            MarketRules("PEPE/USDT", D("0.00000001"), D("1"), D("1"), D("5"), D("92233720368")),
        ),
        (  # a tick that is not a power of ten (Gate ETH/USDT:USDT)
            ccxt_market(
                "ETH/USDT:USDT", price=0.05, amount=1.0, amount_min=1.0, amount_max=None, cost_min=None
            ),
            MarketRules("ETH/USDT:USDT", D("0.05"), D("1"), D("1"), D("0"), None),
        ),
        (  # no limits at all (OKX states no min cost)
            ccxt_market("BTC/USDT", price=0.1, amount=1e-08, amount_min=None, amount_max=None, cost_min=None),
            MarketRules("BTC/USDT", D("0.1"), D("0.00000001"), D("0"), D("0"), None),
        ),
        (  # strings, as some ccxt versions and exchanges return
            ccxt_market(price="0.0010", amount="0.10", amount_min="0.10", cost_min="10"),
            MarketRules("BTC/USDT", D("0.001"), D("0.1"), D("0.1"), D("10"), D("9000")),
        ),
    ],
)
def test_tick_size_mode_uses_precision_values_as_tick_and_step(
    market: dict[str, Any], expected: MarketRules
) -> None:
    assert rules_from_ccxt_market(market, TICK_SIZE) == expected


@pytest.mark.parametrize(
    ("price_places", "amount_places", "tick", "step"),
    [
        (2, 5, D("0.01"), D("0.00001")),  # Binance's stale ccxt fixture style
        (8, 0, D("0.00000001"), D("1")),
        (2.0, 3.0, D("0.01"), D("0.001")),  # ccxt sometimes gives whole numbers as floats
        (0, 0, D("1"), D("1")),
        (-1, 0, D("10"), D("1")),  # negative places: tens
    ],
)
def test_decimal_places_mode_turns_places_into_a_power_of_ten_grid(
    price_places: Any, amount_places: Any, tick: Decimal, step: Decimal
) -> None:
    rules = rules_from_ccxt_market(ccxt_market(price=price_places, amount=amount_places), DECIMAL_PLACES)
    assert (rules.tick_size, rules.step_size) == (tick, step)
    assert str(rules.tick_size) == str(tick)  # no "1E+1"-style exponents leak out


def test_significant_digits_mode_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="SIGNIFICANT_DIGITS"):
        rules_from_ccxt_market(ccxt_market(price=5, amount=5), SIGNIFICANT_DIGITS)


@pytest.mark.parametrize(
    "precision",
    [{"price": None, "amount": 1e-05}, {"price": 0.01, "amount": None}, {"price": 0, "amount": 1}],
)
def test_missing_or_zero_precision_is_an_error(precision: dict[str, Any]) -> None:
    market = ccxt_market()
    market["precision"] = precision
    with pytest.raises(ValueError):
        rules_from_ccxt_market(market)


def test_fractional_decimal_places_are_an_error() -> None:
    with pytest.raises(ValueError, match="whole number"):
        rules_from_ccxt_market(ccxt_market(price=2.5, amount=2), DECIMAL_PLACES)


def test_to_decimal_converts_floats_through_their_text() -> None:
    assert str(to_decimal(0.1)) == "0.1"
    assert str(to_decimal(1e-05)) == "0.00001"
    assert str(to_decimal(100.0)) == "100"
    with pytest.raises(TypeError):
        to_decimal(None)


def test_catalog_keeps_inactive_markets_only_in_the_symbol_map() -> None:
    catalog = catalog_from_ccxt_markets(
        {
            "BTC/USDT": ccxt_market("BTC/USDT"),
            "LUNA/USDT": ccxt_market("LUNA/USDT", active=False),
            "NEW/USDT": ccxt_market("NEW/USDT", active=None),  # ccxt: unknown means not known inactive
            "BAD/USDT": ccxt_market("BAD/USDT", price=None),
        },
        TICK_SIZE,
    )
    assert sorted(catalog.rules) == ["BTC/USDT", "NEW/USDT"]
    assert catalog.resolve("LUNAUSDT") == "LUNA/USDT"
    assert catalog.resolve("BADUSDT") == "BAD/USDT"


# ---- the real bundled file through ccxt's Binance parser --------------------------------------


@pytest.mark.parametrize(
    ("symbol", "tick", "step", "min_qty", "min_notional"),
    [  # the values of the table in /work/shared/data/SOURCES.md (2023-09 columns)
        ("BTC/USDT", "0.01", "0.00001", "0.00001", "5"),
        ("ETH/USDT", "0.01", "0.0001", "0.0001", "5"),
        ("SOL/USDT", "0.01", "0.01", "0.01", "5"),
        ("XRP/USDT", "0.0001", "1", "1", "5"),
        ("DOGE/USDT", "0.00001", "1", "1", "5"),
        ("BNB/USDT", "0.1", "0.001", "0.001", "5"),
        ("SHIB/USDT", "0.00000001", "1", "1", "5"),
        ("PEPE/USDT", "0.00000001", "1", "1", "5"),
    ],
)
def test_bundled_binance_catalog_matches_the_documented_rules(
    binance_catalog: MarketCatalog, symbol: str, tick: str, step: str, min_qty: str, min_notional: str
) -> None:
    rules = binance_catalog.rules[symbol]
    assert rules.tick_size == D(tick)
    assert rules.step_size == D(step)
    assert rules.min_qty == D(min_qty)
    assert rules.min_notional == D(min_notional)


def test_bundled_catalog_keeps_trading_markets_and_maps_every_symbol(binance_catalog: MarketCatalog) -> None:
    assert len(binance_catalog.by_exchange_symbol) == 2292
    assert len(binance_catalog.rules) == 1340  # status TRADING; the 952 in BREAK are left out
    assert binance_catalog.resolve("BTCUSDT") == "BTC/USDT"
    assert binance_catalog.resolve("btc-usdt") == "BTC/USDT"
    assert binance_catalog.rules["BTC/USDT"].max_qty == D("9000")


def test_bundled_catalog_is_cached_per_process(binance_catalog: MarketCatalog) -> None:
    assert load_binance_spot_catalog() is binance_catalog
    assert load_binance_spot_catalog(markets.BINANCE_SPOT_EXCHANGE_INFO) is binance_catalog
