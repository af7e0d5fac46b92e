"""The six ccxt venues offline: an adapter on a recorded-response transport, plus order bodies.

Order bodies come in two kinds, and every test says which it uses:
- RECORDED: a venue's raw HTTP body exactly as ccxt's static fixtures hold it
  (tests/fixtures/exchanges/orders/<venue>.json, `recorded_body`).
- DERIVED: one recorded order object of the same venue and endpoint family, copied with only
  the fields a scenario needs changed (status, filled quantity, client id, …), for the cases no
  recording covers (cancels, partial fills on most venues, lookups by our own client id).
  `order_body()` below is the one place that derives them; its base object per venue is named.
"""

from __future__ import annotations

import copy
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from exchanges.ccxt_adapter import CcxtExchange
from exchanges.venues import client_id_for
from tests.ccxt_transport import RecordedTransport, add_market_routes, offline_factory, recorded_body

VENUES = ("binance", "bybit", "okx", "kucoin", "mexc", "gate")
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
D = Decimal

CREDENTIALS = {"api_key": "offline-key", "secret": "offline-secret", "passphrase": "offline-pass"}


_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond this machine fails the test: everything here is offline.

    Loopback and Unix sockets stay open for the test database (CI also runs on PostgreSQL).
    """
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _local(sock: socket.socket, address: Any) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        return isinstance(address, tuple) and str(address[0]) in _LOCAL_HOSTS

    def connect(sock: socket.socket, address: Any) -> None:
        if not _local(sock, address):
            raise AssertionError(f"network access attempted: connect{address!r}")
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not _local(sock, address):
            raise AssertionError(f"network access attempted: connect_ex{address!r}")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@dataclass
class World:
    venue: str
    adapter: CcxtExchange
    transport: RecordedTransport

    def market_id(self, symbol: str) -> str:
        return str(self.transport.exchange.market(symbol)["id"])

    def venue_cid(self, our_id: str) -> str:
        return client_id_for(self.adapter.profile, our_id)


def make_world(venue: str, market_type: str = "spot", *, sandbox: bool = False) -> World:
    transport = RecordedTransport()
    add_market_routes(transport, venue, market_type)
    adapter = CcxtExchange(
        venue,
        market_type=market_type,
        sandbox=sandbox,
        clock=lambda: T0,
        exchange_factory=offline_factory(venue, transport),
        **CREDENTIALS,
    )
    adapter.load_markets()
    return World(venue, adapter, transport)


# ---- per-venue endpoints -------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoints:
    create: tuple[str, str]
    lookup: tuple[str, str]  # by client id
    cancel: tuple[str, str]  # by the venue's order id
    open_orders: tuple[str, str]
    tickers: tuple[str, str]


ENDPOINTS = {
    "binance": Endpoints(
        ("POST", "/api/v3/order"),
        ("GET", "/api/v3/order"),
        ("DELETE", "/api/v3/order"),
        ("GET", "/api/v3/openOrders"),
        ("GET", "/api/v3/ticker/24hr"),
    ),
    "bybit": Endpoints(
        ("POST", "/v5/order/create"),
        ("GET", "/v5/order/realtime"),
        ("POST", "/v5/order/cancel"),
        ("GET", "/v5/order/realtime"),
        ("GET", "/v5/market/tickers"),
    ),
    "okx": Endpoints(
        ("POST", "/api/v5/trade/batch-orders"),
        ("GET", "/api/v5/trade/order"),
        ("POST", "/api/v5/trade/cancel-order"),
        ("GET", "/api/v5/trade/orders-pending"),
        ("GET", "/api/v5/market/tickers"),
    ),
    "kucoin": Endpoints(
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/order/client-order/"),  # + the client id
        ("DELETE", "/api/v1/orders/"),  # + the order id
        ("GET", "/api/v1/orders"),
        ("GET", "/api/v1/market/allTickers"),
    ),
    "mexc": Endpoints(
        ("POST", "/api/v3/order"),
        ("GET", "/api/v3/order"),
        ("DELETE", "/api/v3/order"),
        ("GET", "/api/v3/openOrders"),
        ("GET", "/api/v3/ticker/24hr"),
    ),
    "gate": Endpoints(
        ("POST", "/spot/orders"),
        ("GET", "/spot/orders/"),  # + the t-… text
        ("DELETE", "/spot/orders/"),  # + the order id
        ("GET", "/spot/open_orders"),
        ("GET", "/spot/tickers"),
    ),
}


def _path_prefix(path: str) -> tuple[str, Any]:
    """Paths ending in "/" take an id segment: match them by prefix instead of suffix."""
    if path.endswith("/"):
        return "", lambda request: path in request.path
    return path, None


def on(world: World, endpoint: tuple[str, str], body: Any, **kwargs: Any) -> None:
    method, path = endpoint
    suffix, where = _path_prefix(path)
    if where is not None:
        previous = kwargs.pop("where", None)
        kwargs["where"] = where if previous is None else (lambda r, a=where, b=previous: a(r) and b(r))
    world.transport.on(method, suffix, body, **kwargs)


def count(world: World, endpoint: tuple[str, str]) -> int:
    method, path = endpoint
    return sum(
        1
        for r in world.transport.sent(method)
        if (path in r.path if path.endswith("/") else r.path.endswith(path))
    )


# ---- derived order bodies ------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One order as the venue holds it, in plain strings."""

    venue_cid: str
    symbol: str
    side: str = "buy"
    type: str = "limit"
    qty: str = "0.1"
    price: str = "60"
    filled: str = "0"
    avg: str | None = None
    state: str = "open"  # open | partial | filled | cancelled
    order_id: str = "700000001"


def _cost(spec: Spec) -> str:
    avg = Decimal(spec.avg or spec.price)
    return str((Decimal(spec.filled) * avg).normalize())


def order_body(world: World, spec: Spec) -> dict[str, Any]:
    """The venue's raw order object for `spec`, derived from a recorded object (named per venue)."""
    market_id = world.market_id(spec.symbol)
    venue = world.venue
    if venue in ("binance", "mexc"):
        # binance: recorded fetchOrder "Fetch spot closed order" (LTCUSDT); MEXC answers the same
        # Binance-style object (ccxt's mexc.parse_order documents it), based on the same base.
        base = recorded_body("binance", "fetchOrder", "Fetch spot closed order")
        status = {"open": "NEW", "partial": "PARTIALLY_FILLED", "filled": "FILLED", "cancelled": "CANCELED"}
        base.update(
            symbol=market_id,
            orderId=spec.order_id,
            clientOrderId=spec.venue_cid,
            price=spec.price if spec.type == "limit" else "0",
            origQty=spec.qty,
            executedQty=spec.filled,
            cummulativeQuoteQty=_cost(spec),
            status=status[spec.state],
            type=spec.type.upper(),
            side=spec.side.upper(),
        )
        return base
    if venue == "bybit":
        # recorded fetchOrder "Spot sell closed order" (XRPUSDT, Filled)
        base = recorded_body("bybit", "fetchOrder", "Spot sell closed order")["result"]["list"][0]
        status = {"open": "New", "partial": "PartiallyFilled", "filled": "Filled", "cancelled": "Cancelled"}
        leaves = Decimal(spec.qty) - Decimal(spec.filled)
        base.update(
            symbol=market_id,
            orderId=spec.order_id,
            orderLinkId=spec.venue_cid,
            orderType=spec.type.capitalize(),
            side=spec.side.capitalize(),
            price=spec.price if spec.type == "limit" else "0",
            qty=spec.qty,
            cumExecQty=spec.filled,
            cumExecValue=_cost(spec),
            avgPrice=spec.avg or ("" if spec.filled == "0" else spec.price),
            leavesQty=str(leaves if spec.state in ("open", "partial") else 0),
            orderStatus=status[spec.state],
            timeInForce="GTC" if spec.type == "limit" else "IOC",
            marketUnit="baseCoin",
            cumExecFee="0",
        )
        return base
    if venue == "okx":
        # recorded fetchOrder "fetch spot order" (LTC-USDT, filled market buy)
        base = recorded_body("okx", "fetchOrder", "fetch spot order")["data"][0]
        state = {"open": "live", "partial": "partially_filled", "filled": "filled", "cancelled": "canceled"}
        base.update(
            instId=market_id,
            ordId=spec.order_id,
            clOrdId=spec.venue_cid,
            ordType=spec.type,
            side=spec.side,
            px=spec.price if spec.type == "limit" else "",
            sz=spec.qty,
            accFillSz=spec.filled,
            fillSz=spec.filled,
            avgPx=spec.avg or ("" if spec.filled == "0" else spec.price),
            state=state[spec.state],
            fee="0",
            feeCcy="USDT",
        )
        return base
    if venue == "kucoin":
        # recorded fetchOrder "fetch order" (LTC-USDT, done market buy)
        base = recorded_body("kucoin", "fetchOrder", "fetch order")["data"]
        base.update(
            id=spec.order_id,
            symbol=market_id,
            type=spec.type,
            side=spec.side,
            price=spec.price if spec.type == "limit" else "0",
            size=spec.qty,
            dealSize=spec.filled,
            dealFunds=_cost(spec),
            fee="0",
            clientOid=spec.venue_cid,
            isActive=spec.state in ("open", "partial"),
            cancelExist=spec.state == "cancelled",
        )
        return base
    if venue == "gate":
        # recorded fetchClosedOrders "spot closed orders" (LTC_USDT, filled market buy)
        base = recorded_body("gate", "fetchClosedOrders", "spot closed orders")[0]
        status = {"open": "open", "partial": "open", "filled": "closed", "cancelled": "cancelled"}
        finish = {"open": "open", "partial": "open", "filled": "filled", "cancelled": "cancelled"}
        left = Decimal(spec.qty) - Decimal(spec.filled)
        base.update(
            id=spec.order_id,
            text=spec.venue_cid,
            currency_pair=market_id,
            type=spec.type,
            side=spec.side,
            amount=spec.qty,
            price=spec.price if spec.type == "limit" else "0",
            time_in_force="gtc" if spec.type == "limit" else "ioc",
            left=str(left if spec.state != "filled" else 0),
            filled_amount=spec.filled,
            filled_total=_cost(spec),
            fill_price=_cost(spec),
            avg_deal_price=spec.avg or ("0" if spec.filled == "0" else spec.price),
            status=status[spec.state],
            finish_as=finish[spec.state],
            fee="0",
            fee_currency="USDT",
        )
        return base
    raise ValueError(venue)


# ---- envelopes per endpoint ----------------------------------------------------------------


def lookup_response(world: World, order: dict[str, Any] | None) -> tuple[Any, int]:
    """(body, HTTP status) of the by-client-id endpoint for an order, or for "unknown"."""
    venue = world.venue
    if venue in ("binance", "mexc"):
        return (order, 200) if order else ({"code": -2013, "msg": "Order does not exist."}, 400)
    if venue == "bybit":
        return {
            "retCode": 0,
            "retMsg": "OK",
            "result": {"category": "spot", "list": [order] if order else []},
        }, 200
    if venue == "okx":
        if order:
            return {"code": "0", "msg": "", "data": [order]}, 200
        return {"code": "51603", "msg": "Order does not exist", "data": []}, 200
    if venue == "kucoin":
        return {"code": "200000", "data": order}, 200
    if venue == "gate":
        return (order, 200) if order else ({"label": "ORDER_NOT_FOUND", "message": "Order not found"}, 404)
    raise ValueError(venue)


def route_lookup(world: World, order: dict[str, Any] | None, **kwargs: Any) -> None:
    body, status = lookup_response(world, order)
    endpoints = ENDPOINTS[world.venue]
    on(world, endpoints.lookup, body, status=status, **kwargs)
    if world.venue == "bybit":
        # after the realtime list, the order history (same envelope)
        history = {
            "retCode": 0,
            "retMsg": "OK",
            "result": {"category": "spot", "list": [order] if order else []},
        }
        world.transport.on("GET", "/v5/order/history", history, **kwargs)
    if world.venue == "gate" and order is None:
        world.transport.on("GET", "/spot/open_orders", [])
        world.transport.on("GET", "/spot/orders", [], where=lambda r: r.query.get("status") == "finished")


def create_response(world: World, order: dict[str, Any]) -> Any:
    """The create endpoint's answer for an accepted order (thin where the venue is thin)."""
    venue = world.venue
    if venue == "binance":
        return order
    if venue == "bybit":
        # recorded createOrder "create spot order": {orderId, orderLinkId}
        body = recorded_body("bybit", "createOrder", "create spot order")
        body["result"] = {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]}
        return body
    if venue == "okx":
        # recorded createOrder "type2 & type3 together": {clOrdId, ordId, sCode, sMsg, tag, ts}
        body = recorded_body("okx", "createOrder", "type2 & type3 together")
        body["data"][0].update(clOrdId=order["clOrdId"], ordId=order["ordId"])
        return body
    if venue == "kucoin":
        return {"code": "200000", "data": {"orderId": order["id"]}}  # KuCoin's documented ack
    if venue == "mexc":
        # recorded createOrder "tif IOC" shape: echoes the order, no status
        body = recorded_body("mexc", "createOrder", "tif IOC")
        body.update(
            symbol=order["symbol"],
            orderId=order["orderId"],
            price=order["price"],
            origQty=order["origQty"],
            type=order["type"],
            side=order["side"],
        )
        return body
    if venue == "gate":
        return order
    raise ValueError(venue)


def cancel_response(world: World, order: dict[str, Any]) -> Any:
    """The cancel endpoint's answer (`order` is the cancelled order's object)."""
    venue = world.venue
    if venue in ("binance", "mexc", "gate"):
        return order  # the full cancelled order
    if venue == "bybit":
        # ccxt's bybit.cancel_order documents {"result": {"orderId", "orderLinkId"}}
        return {
            "retCode": 0,
            "retMsg": "OK",
            "result": {"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]},
        }
    if venue == "okx":
        return {
            "code": "0",
            "msg": "",
            "data": [{"clOrdId": order["clOrdId"], "ordId": order["ordId"], "sCode": "0", "sMsg": ""}],
        }
    if venue == "kucoin":
        return {"code": "200000", "data": {"cancelledOrderIds": [order["id"]]}}
    raise ValueError(venue)


def tickers_response(world: World, prices: dict[str, str]) -> Any:
    """All-tickers bodies derived from each venue's recorded ticker (Binance: fetchTickers)."""
    venue = world.venue
    ids = {world.market_id(symbol): price for symbol, price in prices.items()}
    if venue == "binance":
        template = recorded_body("binance", "fetchTickers", "rolling tickers")[0]
        return [dict(copy.deepcopy(template), symbol=i, lastPrice=p) for i, p in ids.items()]
    if venue == "bybit":
        template = recorded_body("bybit", "fetchTicker", "swap ticker")
        row = template["result"]["list"][0]
        template["result"] = {
            "category": "spot",
            "list": [dict(copy.deepcopy(row), symbol=i, lastPrice=p) for i, p in ids.items()],
        }
        return template
    if venue == "okx":
        template = recorded_body("okx", "fetchTicker", "public spot ticker")
        row = template["data"][0]
        template["data"] = [dict(copy.deepcopy(row), instId=i, last=p) for i, p in ids.items()]
        return template
    if venue == "kucoin":
        row = recorded_body("kucoin", "fetchTicker", "fetch ticker")["data"]
        tickers = [dict(copy.deepcopy(row), symbol=i, last=p) for i, p in ids.items()]
        return {"code": "200000", "data": {"time": row["time"], "ticker": tickers}}
    if venue == "mexc":
        row = recorded_body("mexc", "fetchTicker", "public spot ticker")
        return [dict(copy.deepcopy(row), symbol=i, lastPrice=p) for i, p in ids.items()]
    if venue == "gate":
        row = recorded_body("gate", "fetchTicker", "public spot ticker")[0]
        return [dict(copy.deepcopy(row), currency_pair=i, last=p) for i, p in ids.items()]
    raise ValueError(venue)
