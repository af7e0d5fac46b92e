"""Precision from real recorded market lists, through ccxt's own parsers, for all six venues.

Expected values are the ones in tests/fixtures/exchanges/SOURCES.md (the shared data's tables,
measured with ccxt 4.5.90): never hard-coded from memory, and they drift over time.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.core.adapter import InvalidOrder, OrderRequest, OrderType
from exchanges.markets import rules_from_ccxt_market
from trading.core.precision import floor_qty, order_violations, round_price
from trading.core.types import OrderSide

from .ccxt_world import (  # noqa: F401 - no_sockets is an autouse fixture
    ENDPOINTS,
    VENUES,
    Spec,
    World,
    count,
    create_response,
    make_world,
    no_sockets,
    on,
    order_body,
    route_lookup,
)

D = Decimal

# venue → symbol → (tick, step, min qty, min notional); "0" where the venue states no minimum.
EXPECTED = {
    "binance": {
        "BTC/USDT": ("0.01", "0.00001", "0.00001", "5"),
        "PEPE/USDT": ("0.00000001", "1", "1", "5"),
    },
    "bybit": {
        "BTC/USDT": ("0.01", "0.000001", "0.000048", "1"),
        "PEPE/USDT": ("0.000000001", "1", "280000", "1"),
    },
    "okx": {
        "BTC/USDT": ("0.1", "0.00000001", "0.00001", "0"),
        "PEPE/USDT": ("0.000000001", "1", "5000000", "0"),
    },
    "kucoin": {
        "BTC/USDT": ("0.1", "0.00000001", "0.00001", "0.1"),
        "PEPE/USDT": ("0.00000001", "1", "100000", "0.1"),
    },
    "mexc": {
        "BTC/USDT": ("0.01", "0.00000001", "0.000001", "1"),
        "PEPE/USDT": ("0.00000001", "1", "0", "1"),
    },
    "gate": {
        "BTC/USDT": ("0.1", "0.00001", "0.00001", "3"),
        "PEPE/USDT": ("0.000000001", "1", "1", "3"),
    },
}

# The wire names of quantity, price and client id in each venue's create request.
WIRE = {
    "binance": ("quantity", "price", "newClientOrderId"),
    "bybit": ("qty", "price", "orderLinkId"),
    "okx": ("sz", "px", "clOrdId"),
    "kucoin": ("size", "price", "clientOid"),
    "mexc": ("quantity", "price", "newClientOrderId"),
    "gate": ("amount", "price", "text"),
}

RAW_PRICE = {"BTC/USDT": D("43251.23456"), "PEPE/USDT": D("0.0000076543219")}


@pytest.fixture(scope="module", params=VENUES)
def world(request: pytest.FixtureRequest) -> World:
    return make_world(request.param)


def _rules_tuple(rules) -> tuple[Decimal, Decimal, Decimal, Decimal]:  # noqa: ANN001
    return rules.tick_size, rules.step_size, rules.min_qty, rules.min_notional


@pytest.mark.parametrize("symbol", ["BTC/USDT", "PEPE/USDT"])
def test_tick_step_and_minimums_come_from_the_recorded_market_list(world: World, symbol: str) -> None:
    expected = tuple(D(v) for v in EXPECTED[world.venue][symbol])
    market = world.transport.exchange.markets[symbol]
    assert _rules_tuple(rules_from_ccxt_market(market, world.transport.exchange.precisionMode)) == expected
    catalog = world.adapter.load_markets()
    if world.venue == "mexc" and symbol == "BTC/USDT":
        # MEXC's 2025-09 list has isSpotTradingAllowed=false for BTCUSDT: ccxt marks it inactive,
        # the catalog leaves it out (its venue spelling stays resolvable).
        assert market["active"] is False
        assert symbol not in catalog.rules
        assert catalog.resolve("BTCUSDT") == "BTC/USDT"
    else:
        assert _rules_tuple(catalog.rules[symbol]) == expected


def test_market_load_uses_only_the_recorded_endpoints_and_the_rate_limiter(world: World) -> None:
    before = len(world.transport.throttled)
    world.adapter.load_markets()
    assert len(world.transport.throttled) > before  # ccxt's limiter is on (enableRateLimit)
    assert all(r.method == "GET" for r in world.transport.requests)


def test_an_inactive_market_is_refused_before_sending() -> None:
    world = make_world("mexc")
    request = OrderRequest(
        "tvt1g1p0l0ea0", "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, D("0.001"), D("60000")
    )
    with pytest.raises(InvalidOrder, match="inactive"):
        world.adapter.create_order(request)
    assert world.transport.sent("POST") == []


def _tradable_symbols(venue: str) -> list[str]:
    return ["PEPE/USDT"] if venue == "mexc" else ["BTC/USDT", "PEPE/USDT"]


@pytest.mark.parametrize("venue", VENUES)
def test_an_order_rounded_on_the_grid_passes_the_filters_and_is_sent_exactly(venue: str) -> None:
    world = make_world(venue)
    qty_key, price_key, cid_key = WIRE[venue]
    for n, symbol in enumerate(_tradable_symbols(venue)):
        rules = world.adapter.load_markets().rules[symbol]
        price = round_price(RAW_PRICE[symbol], OrderSide.BUY, rules)
        qty = floor_qty(D("60") / price, rules)
        assert order_violations(price, qty, rules) == []
        our_id = f"tvt1g{n + 1}p0l0ea0"
        spec = Spec(world.venue_cid(our_id), symbol, qty=str(qty), price=str(price), order_id=f"81{n}")
        order = order_body(world, spec)
        on(world, ENDPOINTS[venue].create, create_response(world, order))
        route_lookup(world, order)

        report = world.adapter.create_order(
            OrderRequest(our_id, symbol, OrderSide.BUY, OrderType.LIMIT, qty, price)
        )

        sent = world.transport.sent(*ENDPOINTS[venue].create)[-1].params
        assert D(str(sent[qty_key])) == qty and D(str(sent[price_key])) == price
        assert sent[cid_key] == world.venue_cid(our_id)
        assert (report.client_order_id, report.qty, report.price) == (our_id, qty, price)


@pytest.mark.parametrize("venue", VENUES)
def test_an_order_below_the_minimum_never_reaches_the_venue(venue: str) -> None:
    world = make_world(venue)
    symbol = "PEPE/USDT"
    rules = world.adapter.load_markets().rules[symbol]
    if rules.min_notional > 0:
        # the smallest allowed quantity at a price that makes it worth half the minimum notional
        qty = max(rules.min_qty, rules.step_size)
        price = round_price(rules.min_notional / qty / 2, OrderSide.BUY, rules)
        code, match = "min_notional", "notional"
    else:  # OKX states no minimum notional: its minimum size is the filter that bites
        price = round_price(RAW_PRICE[symbol], OrderSide.BUY, rules)
        qty = rules.min_qty - rules.step_size
        code, match = "min_qty", "below the minimum"
    assert code in {v.code for v in order_violations(price, qty, rules)}

    with pytest.raises(InvalidOrder, match=match):
        world.adapter.create_order(
            OrderRequest("tvt1g9p0l0ea0", symbol, OrderSide.BUY, OrderType.LIMIT, qty, price)
        )
    assert count(world, ENDPOINTS[venue].create) == 0
    assert world.transport.sent("POST") == []


@pytest.mark.parametrize(
    ("venue", "symbol", "contract_size", "step_contracts"),
    [
        ("binance", "BTC/USDT:USDT", "1", "0.001"),
        ("bybit", "BTC/USDT:USDT", "1", "0.001"),
        ("okx", "BTC/USDT:USDT", "0.01", "0.01"),
        ("gate", "ETH/USDT:USDT", "0.01", "1"),
    ],
)
def test_swap_rules_are_in_base_units_and_orders_are_sent_in_contracts(
    venue: str, symbol: str, contract_size: str, step_contracts: str
) -> None:
    world = make_world(venue, "swap")
    market = world.transport.exchange.markets[symbol]
    assert D(str(market["contractSize"])) == D(contract_size)
    assert D(str(market["precision"]["amount"])) == D(step_contracts)
    rules = world.adapter.load_markets().rules[symbol]
    assert rules.step_size == D(step_contracts) * D(contract_size)  # base asset per step
    assert rules.min_qty == D(str(market["limits"]["amount"]["min"])) * D(contract_size)


@pytest.mark.parametrize(
    ("venue", "market_type", "expected"),
    [
        ("binance", "spot", (2.5, 25.0)),  # exchangeInfo: 50 orders per 10 s
        ("binance", "swap", (10.0, 150.0)),  # exchangeInfo: 300 per 10 s, 1200 per minute
        ("okx", "spot", (2.5, 2.5)),  # no metadata: the profile's conservative default
    ],
)
def test_order_rate_limits_come_from_the_market_load(venue: str, market_type: str, expected: tuple) -> None:
    assert make_world(venue, market_type).adapter.order_rate_limits() == expected


def test_mexc_swap_accounts_are_not_offered() -> None:
    """ccxt cannot look a MEXC contract order up by client id: no idempotent retry, so no swap."""
    with pytest.raises(ValueError, match="no 'swap' markets"):
        make_world("mexc", "swap")


@pytest.mark.parametrize(
    ("venue", "host"), [("binance", "demo-fapi.binance.com"), ("bybit", "api-testnet.bybit.com")]
)
def test_swap_sandbox_uses_the_venues_demo_or_testnet_host(venue: str, host: str) -> None:
    # ccxt 4.5.90 refuses Binance's old futures testnet; USD-M sandbox accounts use demo trading.
    world = make_world(venue, "swap", sandbox=True)
    assert world.transport.requests and all(host in r.url for r in world.transport.requests)
