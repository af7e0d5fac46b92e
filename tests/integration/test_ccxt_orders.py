"""Orders through ccxt's real request building and parsing, for all six venues, offline.

RECORDED tests replay a venue's raw body exactly as recorded; DERIVED tests use
`ccxt_world.order_body` (a recorded object with the scenario's fields changed).
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl, urlparse

import pytest

from exchanges.ccxt_reports import report_from_ccxt
from exchanges.core.adapter import (
    Balance,
    ExchangeAdapter,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from tests.ccxt_transport import fixture_json, recorded_body, recorded_requests
from trading.core.types import OrderSide

from .ccxt_world import (  # noqa: F401 - no_sockets is an autouse fixture
    ENDPOINTS,
    T0,
    VENUES,
    Spec,
    World,
    cancel_response,
    count,
    create_response,
    make_world,
    no_sockets,
    on,
    order_body,
    route_lookup,
    tickers_response,
)

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
OUR_ID = "tvt1g7p0l2da0"


def sent(world: World, endpoint: tuple[str, str]) -> list:
    method, path = endpoint
    return [
        r
        for r in world.transport.sent(method)
        if (path in r.path if path.endswith("/") else r.path.endswith(path))
    ]


def assert_decimals(report: OrderReport) -> None:
    for value in (report.qty, report.filled_qty, report.fee_quote, report.price, report.avg_fill_price):
        assert value is None or type(value) is Decimal


# ---- the request ccxt sends for our order = the recorded request for the same input --------------

# venue → (recorded request description, our order with the same input)
SAME_INPUT = {
    "binance": ("Spot limit buy order", OrderRequest(OUR_ID, "LTC/USDT", BUY, LIMIT, D("0.2"), D("50"))),
    "bybit": ("Spot limit order", OrderRequest(OUR_ID, "ADA/USDT", BUY, LIMIT, D("50"), D("0.1"))),
    "okx": ("Spot limit buy order", OrderRequest(OUR_ID, "LTC/USDT", BUY, LIMIT, D("2"), D("50"))),
    "kucoin": ("Spot market buy order", OrderRequest(OUR_ID, "LTC/USDT", BUY, MARKET, D("0.1"))),
    "mexc": ("Spot limit buy", OrderRequest(OUR_ID, "ATLAS/USDT", BUY, LIMIT, D("1000"), D("0.005"))),
    "gate": ("Spot limit buy order", OrderRequest(OUR_ID, "LTC/USDT", BUY, LIMIT, D("0.1"), D("50"))),
}
CLIENT_ID_FIELD = {
    "binance": "newClientOrderId",
    "bybit": "orderLinkId",
    "okx": "clOrdId",
    "kucoin": "clientOid",
    "mexc": "newClientOrderId",
    "gate": "text",
}


def _recorded_params(case: dict) -> dict[str, str]:
    output = case.get("output")
    if output is None:
        return dict(parse_qsl(urlparse(case["url"]).query))
    if output.startswith("[") or output.startswith("{"):
        import json

        parsed = json.loads(output)
        return {k: str(v) for k, v in (parsed[0] if isinstance(parsed, list) else parsed).items()}
    return dict(parse_qsl(output))


@pytest.mark.parametrize("venue", VENUES)
def test_create_sends_the_recorded_request_plus_our_client_id(venue: str) -> None:
    world = make_world(venue)
    description, request = SAME_INPUT[venue]
    case = next(c for c in recorded_requests(venue, "createOrder") if c["description"] == description)
    skip = set(fixture_json("orders", f"{venue}.json")["requestFileMeta"]["skipKeys"])
    skip |= {"timestamp", "signature", "recvWindow", CLIENT_ID_FIELD[venue]}
    qty, price = request.qty, request.price or D("0")
    order = order_body(
        world,
        Spec(
            world.venue_cid(OUR_ID), request.symbol, type=request.type.value, qty=str(qty), price=str(price)
        ),
    )
    on(world, ENDPOINTS[venue].create, create_response(world, order))
    route_lookup(world, order)

    world.adapter.create_order(request)

    sent = world.transport.sent(*ENDPOINTS[venue].create)[0]
    assert urlparse(sent.url).path == urlparse(case["url"]).path
    ours = {k: str(v) for k, v in sent.params.items() if k not in skip}
    assert ours == {k: v for k, v in _recorded_params(case).items() if k not in skip}
    assert sent.params[CLIENT_ID_FIELD[venue]] == world.venue_cid(OUR_ID)


@pytest.mark.parametrize(
    ("venue", "description"), [("binance", "Spot limit buy order"), ("bybit", "Spot limit order")]
)
def test_sandbox_accounts_talk_to_the_recorded_testnet_host(venue: str, description: str) -> None:
    world = make_world(venue, sandbox=True)
    request = SAME_INPUT[venue][1]
    order = order_body(
        world, Spec(world.venue_cid(OUR_ID), request.symbol, qty=str(request.qty), price=str(request.price))
    )
    on(world, ENDPOINTS[venue].create, create_response(world, order))
    route_lookup(world, order)
    world.adapter.create_order(request)
    case = next(c for c in recorded_requests(venue, "createOrder") if c["description"] == description)
    sent = world.transport.sent(*ENDPOINTS[venue].create)[0]
    assert (
        sent.url.split("?")[0] == case["url"].split("?")[0]
    )  # testnet.binance.vision / api-testnet.bybit.com
    assert all("testnet" in r.url for r in world.transport.requests)


@pytest.mark.parametrize("venue", ["okx", "kucoin", "mexc", "gate"])
def test_venues_without_a_supported_testnet_refuse_sandbox(venue: str) -> None:
    with pytest.raises(ValueError, match="no testnet"):
        make_world(venue, sandbox=True)


# ---- RECORDED responses ----------------------------------------------------------------------


def test_binance_recorded_create_is_an_open_order() -> None:
    world = make_world("binance")
    on(
        world,
        ENDPOINTS["binance"].create,
        recorded_body("binance", "createOrder", "spot +selfTradePrevention +iceberg"),
    )
    report = world.adapter.create_order(OrderRequest(OUR_ID, "SOL/USDT", BUY, LIMIT, D("0.05"), D("241")))
    assert report == OrderReport(
        client_order_id=OUR_ID,
        exchange_order_id="9780331417",
        symbol="SOL/USDT",
        side=BUY,
        type=LIMIT,
        status=OrderStatus.OPEN,
        qty=D("0.05"),
        price=D("241"),
        filled_qty=D("0"),
        avg_fill_price=None,
        fee_quote=D("0"),
        updated_at=report.updated_at,
    )
    assert report.updated_at.isoformat() == "2025-01-23T12:32:37.417000+00:00"
    assert count(world, ENDPOINTS["binance"].lookup) == 0  # Binance acks are full: no follow-up


# venue → (client id as recorded, symbol, recorded case, expected status, qty, filled, avg, fee in quote)
RECORDED_FETCH = {
    "binance": ("x-R4BD3S825806ed40c861260428a48c", "LTC/USDT", ("fetchOrder", "Fetch spot closed order"),
                OrderStatus.FILLED, "0.1", "0.1", "90.8", "0"),
    # ccxt 4.5.90 no longer parses Bybit spot fees (cumExecFee 0.0658173 USDT here): fee 0
    "bybit": ("1609604284784580097", "XRP/USDT", ("fetchOrder", "Spot sell closed order"),
              OrderStatus.FILLED, "123", "123", "0.5351", "0"),
    "okx": ("e847386590ce4dBC6f7ae74854f6a617", "LTC/USDT", ("fetchOrder", "fetch spot order"),
            OrderStatus.FILLED, "0.1", "0.1", "101.58", "0.010158"),
    "kucoin": ("6d92a4dc-7c44-40e9-afd8-a25cfb86384a", "LTC/USDT", ("fetchOrder", "fetch order"),
               OrderStatus.FILLED, "0.01", "0.01", "91.937", "0.00091937"),
}  # fmt: skip


@pytest.mark.parametrize("venue", sorted(RECORDED_FETCH))
def test_recorded_order_is_found_by_client_id_and_parsed(venue: str) -> None:
    cid, symbol, (method, description), status, qty, filled, avg, fee = RECORDED_FETCH[venue]
    world = make_world(venue)
    body = recorded_body(venue, method, description)
    on(world, ENDPOINTS[venue].lookup, body)

    report = world.adapter.fetch_order(cid, symbol)

    assert report is not None
    assert (report.client_order_id, report.symbol, report.status) == (cid, symbol, status)
    assert (report.qty, report.filled_qty, report.avg_fill_price, report.fee_quote) == (
        D(qty),
        D(filled),
        D(avg),
        D(fee),
    )
    assert_decimals(report)
    [lookup] = sent(world, ENDPOINTS[venue].lookup)
    assert cid in lookup.url  # asked by client id, not by order id


def test_bybit_recorded_ioc_remainder_cancel_is_a_done_fill() -> None:
    """A real Bybit market buy sized in USDT (50 USDT): PartiallyFilledCanceled after 0.001614 BTC
    at 30966.41. ccxt 4.5.90 restates the amount in BTC (= filled), so it is FILLED, not open."""
    world = make_world("bybit")
    on(world, ENDPOINTS["bybit"].lookup, recorded_body("bybit", "fetchOrder", "fetch spot buy closed order"))
    report = world.adapter.fetch_order("1609602210852247041", "BTC/USDT")
    assert report is not None
    assert (report.qty, report.filled_qty, report.avg_fill_price) == (
        D("0.001614"),
        D("0.001614"),
        D("30966.41"),
    )
    assert report.status is OrderStatus.FILLED
    assert report.fee_quote == 0  # cumExecFee 0.000001614 BTC: ccxt 4.5.90 drops Bybit spot fees


def test_kucoin_recorded_open_orders() -> None:
    world = make_world("kucoin")
    on(
        world,
        ENDPOINTS["kucoin"].open_orders,
        recorded_body("kucoin", "fetchOpenOrders", "fetch spot open order"),
    )
    [report] = world.adapter.fetch_open_orders()
    assert (report.symbol, report.status, report.qty, report.price, report.filled_qty) == (
        "LTC/USDT",
        OrderStatus.OPEN,
        D("0.1"),
        D("55"),
        D("0"),
    )
    assert report.client_order_id == "168ea0a0-0cf2-493d-be18-b606be913ce6"  # not ours: reconciliation alerts


def test_binance_recorded_open_orders() -> None:
    world = make_world("binance")
    on(
        world,
        ENDPOINTS["binance"].open_orders,
        recorded_body("binance", "fetchOpenOrders", "Fetch spot open orders"),
    )
    [report] = world.adapter.fetch_open_orders()  # all symbols: ccxt's warning is switched off
    assert (report.status, report.type, report.qty, report.price) == (
        OrderStatus.OPEN,
        LIMIT,
        D("0.2"),
        D("50"),
    )


@pytest.mark.parametrize(
    ("venue", "description", "asset", "free", "locked"),
    [
        ("binance", "Spot balance", None, None, None),
        ("bybit", "balance after availableToWithdraw update", "BTC", None, None),
        ("kucoin", "fetch balance", "USDT", "40.12618754", "0"),
        # ccxt computes OKX's "used" as a float (total − free): 0.4 arrives as 0.4000000000000001
        ("okx", "spot balance", "BTC", "0.6612664522199999", "0.4000000000000001"),
    ],
)
def test_recorded_balances_become_decimal_balances(venue, description, asset, free, locked) -> None:  # noqa: ANN001
    world = make_world(venue)
    path = {"binance": "/api/v3/account", "bybit": "/v5/account/wallet-balance", "kucoin": "/api/v1/accounts",
            "okx": "/api/v5/account/balance"}[venue]  # fmt: skip
    world.transport.on("GET", path, recorded_body(venue, "fetchBalance", description))
    balances = world.adapter.fetch_balance()
    assert balances and all(isinstance(b, Balance) and type(b.free) is Decimal for b in balances.values())
    assert all(b.total > 0 for b in balances.values())
    if asset is not None and free is not None:
        assert (balances[asset].free, balances[asset].locked) == (D(free), D(locked))


def test_binance_recorded_tickers_in_one_call() -> None:
    world = make_world("binance")
    on(world, ENDPOINTS["binance"].tickers, recorded_body("binance", "fetchTickers", "rolling tickers"))
    prices = world.adapter.fetch_prices(["BTC/USDT", "ETH/USDT", "NOPE/USDT"])
    assert prices == {"BTC/USDT": D("118390.44"), "ETH/USDT": D("3820.06")}
    assert count(world, ENDPOINTS["binance"].tickers) == 1


@pytest.mark.parametrize(
    ("venue", "price"), [("okx", "73384.8"), ("gate", "73373.9")]
)  # both venues' single-ticker recordings already have the all-tickers shape
def test_recorded_ticker_lists_give_last_prices(venue: str, price: str) -> None:
    world = make_world(venue)
    on(world, ENDPOINTS[venue].tickers, recorded_body(venue, "fetchTicker", "public spot ticker"))
    assert world.adapter.fetch_prices(["BTC/USDT"]) == {"BTC/USDT": D(price)}


# ---- DERIVED lifecycles for every venue -----------------------------------------------------------

SYMBOL = {"binance": "LTC/USDT", "bybit": "LTC/USDT", "okx": "LTC/USDT", "kucoin": "LTC/USDT", "mexc": "LTC/USDT",
          "gate": "LTC/USDT"}  # fmt: skip


@pytest.fixture(params=VENUES)
def world(request: pytest.FixtureRequest) -> World:
    return make_world(request.param)


def _spec(world: World, **fields: str) -> Spec:
    return Spec(world.venue_cid(OUR_ID), SYMBOL[world.venue], **fields)


def test_the_adapter_implements_the_protocol(world: World) -> None:
    assert isinstance(world.adapter, ExchangeAdapter)
    assert world.adapter.venue == world.venue


def test_create_then_fetch_then_cancel(world: World) -> None:
    endpoints = ENDPOINTS[world.venue]
    open_order = order_body(world, _spec(world, qty="0.1", price="60"))
    on(world, endpoints.create, create_response(world, open_order))
    route_lookup(world, order_body(world, _spec(world, qty="0.1", price="60", state="cancelled")))
    # lookups: after a thin create ack, by the test, before the cancel; then the cancelled order
    route_lookup(world, open_order, times=3 if world.adapter.profile.thin_create_ack else 2)

    created = world.adapter.create_order(
        OrderRequest(OUR_ID, SYMBOL[world.venue], BUY, LIMIT, D("0.1"), D("60"))
    )
    assert (created.status, created.qty, created.price, created.filled_qty) == (
        OrderStatus.OPEN,
        D("0.1"),
        D("60"),
        0,
    )
    assert created.exchange_order_id == "700000001"

    fetched = world.adapter.fetch_order(OUR_ID, SYMBOL[world.venue])
    assert fetched is not None and fetched.status is OrderStatus.OPEN
    assert fetched.client_order_id == OUR_ID

    on(world, endpoints.cancel, cancel_response(world, order_body(world, _spec(world, state="cancelled"))))
    cancelled = world.adapter.cancel_order(OUR_ID, SYMBOL[world.venue])
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.filled_qty == 0 and cancelled.client_order_id == OUR_ID
    [cancel_request] = sent(world, endpoints.cancel)
    assert "700000001" in cancel_request.url + str(cancel_request.params)  # cancelled by the venue's id


def test_a_partial_fill_is_reported_cumulatively_in_decimals(world: World) -> None:
    route_lookup(
        world,
        order_body(world, _spec(world, qty="0.5", price="60", filled="0.2", avg="59.95", state="partial")),
    )
    report = world.adapter.fetch_order(OUR_ID, SYMBOL[world.venue])
    assert report is not None
    assert report.status is OrderStatus.OPEN
    assert (report.qty, report.filled_qty, report.remaining_qty) == (D("0.5"), D("0.2"), D("0.3"))
    assert report.avg_fill_price in (D("59.95"), D("60"))  # KuCoin/Gate derive it from the filled value
    assert_decimals(report)


def test_an_unknown_client_id_is_none(world: World) -> None:
    route_lookup(world, None)
    assert world.adapter.fetch_order("tvt1g404p0l0ea0", SYMBOL[world.venue]) is None


def test_cancelling_an_unknown_order_raises_order_not_found(world: World) -> None:
    route_lookup(world, None)
    with pytest.raises(OrderNotFound):
        world.adapter.cancel_order("tvt1g404p0l0ea0", SYMBOL[world.venue])
    assert count(world, ENDPOINTS[world.venue].cancel) == 0


def test_cancelling_a_filled_order_returns_it_unchanged(world: World) -> None:
    route_lookup(world, order_body(world, _spec(world, qty="0.1", filled="0.1", state="filled")))
    report = world.adapter.cancel_order(OUR_ID, SYMBOL[world.venue])
    assert (report.status, report.filled_qty) == (OrderStatus.FILLED, D("0.1"))
    assert count(world, ENDPOINTS[world.venue].cancel) == 0


def test_prices_come_from_one_tickers_call(world: World) -> None:
    on(
        world,
        ENDPOINTS[world.venue].tickers,
        tickers_response(world, {"BTC/USDT": "64000.1", "LTC/USDT": "71.5"}),
    )
    before = len(world.transport.requests)
    prices = world.adapter.fetch_prices(["BTC/USDT", "LTC/USDT", "UNKNOWN/USDT"])
    assert prices == {"BTC/USDT": D("64000.1"), "LTC/USDT": D("71.5")}
    assert len(world.transport.requests) - before == 1


def test_a_thin_ack_whose_order_is_not_listed_yet_is_reported_open() -> None:
    """OKX acknowledged the order, but its order endpoint does not show it yet (replication lag)."""
    world = make_world("okx")
    order = order_body(world, Spec(world.venue_cid(OUR_ID), "LTC/USDT", qty="2", price="50", order_id="555"))
    on(world, ENDPOINTS["okx"].create, create_response(world, order))
    route_lookup(world, None)
    report = world.adapter.create_order(OrderRequest(OUR_ID, "LTC/USDT", BUY, LIMIT, D("2"), D("50")))
    assert (report.status, report.exchange_order_id, report.filled_qty, report.qty) == (
        OrderStatus.OPEN,
        "555",
        D("0"),
        D("2"),
    )


def test_gate_recorded_market_buy_with_dust_left_is_filled() -> None:
    """Gate's recorded market buy for 5 USDT: 0.0734929 LTC at 68.02, a dust remainder below one
    lot step, fee 0.000147 LTC. Parsed by the installed ccxt, then reported in our types."""
    world = make_world("gate")
    exchange = world.transport.exchange
    body = recorded_body("gate", "fetchClosedOrders", "spot closed orders")[0]
    order = exchange.parse_order(body, exchange.market("LTC/USDT"))
    step = world.adapter.load_markets().rules["LTC/USDT"].step_size
    assert D(str(order["remaining"])) < step
    report = report_from_ccxt(order, our_id="apiv4", contract_size=D(1), step_size=step, request=None, now=T0)
    assert report.status is OrderStatus.FILLED
    assert report.avg_fill_price == D("68.02")
    assert report.filled_qty == D(str(order["filled"]))  # ccxt derives it: cost / average, as a float
    assert report.fee_quote == D("0.000147") * D("68.02")  # an LTC fee valued at the fill price
    assert report.updated_at.isoformat() == "2024-01-27T19:04:23.841000+00:00"


def test_an_order_the_venue_closed_with_a_lot_unfilled_is_cancelled() -> None:
    """Bybit's PartiallyFilledCanceled on a limit IOC: ccxt says `closed`, but 0.3 of 0.5 never traded."""
    world = make_world("bybit")
    body = order_body(
        world, Spec(world.venue_cid(OUR_ID), "LTC/USDT", qty="0.5", filled="0.2", state="partial")
    )
    body.update(orderStatus="PartiallyFilledCanceled", leavesQty="0", timeInForce="IOC")
    route_lookup(world, body)
    report = world.adapter.fetch_order(OUR_ID, "LTC/USDT")
    assert report is not None
    assert (report.status, report.filled_qty, report.remaining_qty) == (
        OrderStatus.CANCELLED,
        D("0.2"),
        D("0.3"),
    )
