"""One contract, two adapters: the paper exchange and the ccxt adapter (offline Binance) must agree.

Every scenario runs against both. The paper exchange matches orders itself; the ccxt side is a
small Binance that answers with Binance's real body shapes (derived from the recorded bodies in
tests/fixtures/exchanges/orders/binance.json) through ccxt's real request building and parsing.
Both use the same market rules (the recorded Binance spot list), so their filters agree too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import pytest

from exchanges.core.adapter import (
    ExchangeAdapter,
    InvalidOrder,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from exchanges.models import ExchangeAccount
from exchanges.paper import PaperExchange
from tests.ccxt_transport import Reply, Request
from trading.core.types import OrderSide

from .ccxt_world import ENDPOINTS, T0, Spec, count, make_world, no_sockets, on, order_body  # noqa: F401

D = Decimal
SYMBOL = "LTC/USDT"  # tick 0.01, step 0.001, min notional 5 on Binance (2023-09-08 list)
LIMIT_PRICE = D("60")


class Venue(Protocol):
    adapter: ExchangeAdapter

    def trade_through(self, request: OrderRequest, filled: Decimal) -> None:
        """The market trades at the order's limit until `filled` (cumulative) is done."""

    def orders_received(self) -> int: ...


class PaperVenue:
    def __init__(self, catalog: Any) -> None:
        account = ExchangeAccount.objects.create(label="contract-paper")
        self.adapter = PaperExchange(
            account,
            fee_percent=D("0"),
            partial_fill_ratio=D("0.5"),
            starting_balance_usdt=D("10000"),
            clock=lambda: T0,
            catalog_loader=lambda: catalog,
        )
        self.adapter.set_price(SYMBOL, D("65"))  # above every buy limit used here: orders rest

    def trade_through(self, request: OrderRequest, filled: Decimal) -> None:
        while True:
            report = self.adapter.fetch_order(request.client_order_id, request.symbol)
            assert report is not None
            if report.filled_qty >= filled:
                assert report.filled_qty == filled
                return
            self.adapter.set_price(request.symbol, request.price or LIMIT_PRICE)

    def orders_received(self) -> int:
        from exchanges.paper_models import PaperOrder

        return PaperOrder.objects.count()


@dataclass
class _Order:
    spec: Spec
    request: OrderRequest


@dataclass
class BinanceVenue:
    """Binance's order endpoints, answering with Binance-shaped bodies from its own book."""

    world: Any = field(default_factory=lambda: make_world("binance"))
    orders: dict[str, _Order] = field(default_factory=dict)

    def __post_init__(self) -> None:
        endpoints = ENDPOINTS["binance"]
        on(self.world, endpoints.create, self._create)
        on(self.world, endpoints.lookup, self._lookup)
        on(self.world, endpoints.cancel, self._cancel)
        on(self.world, endpoints.open_orders, self._open)
        self.adapter = self.world.adapter

    def _body(self, order: _Order) -> dict[str, Any]:
        return order_body(self.world, order.spec)

    def _create(self, request: Request) -> Any:
        p = request.params
        ours = OrderRequest(
            p["newClientOrderId"], SYMBOL, OrderSide(p["side"].lower()), OrderType(p["type"].lower()),
            D(p["quantity"]), D(p["price"]),
        )  # fmt: skip
        spec = Spec(
            p["newClientOrderId"],
            SYMBOL,
            qty=p["quantity"],
            price=p["price"],
            order_id=str(9000 + len(self.orders)),
        )
        self.orders[spec.venue_cid] = _Order(spec, ours)
        return self._body(self.orders[spec.venue_cid])

    def _lookup(self, request: Request) -> Any:
        order = self.orders.get(request.params.get("origClientOrderId", ""))
        if order is None:
            return Reply(400, {"code": -2013, "msg": "Order does not exist."})
        return self._body(order)

    def _cancel(self, request: Request) -> Any:
        for key, order in self.orders.items():
            if order.spec.order_id == request.params.get("orderId"):
                if order.spec.state not in ("open", "partial"):
                    return Reply(400, {"code": -2011, "msg": "Unknown order sent."})
                self.orders[key] = _Order(_with(order.spec, state="cancelled"), order.request)
                return self._body(self.orders[key])
        return Reply(400, {"code": -2011, "msg": "Unknown order sent."})

    def _open(self, request: Request) -> Any:
        return [self._body(o) for o in self.orders.values() if o.spec.state in ("open", "partial")]

    def trade_through(self, request: OrderRequest, filled: Decimal) -> None:
        order = self.orders[request.client_order_id]
        state = "filled" if filled >= D(order.spec.qty) else "partial"
        self.orders[request.client_order_id] = _Order(
            _with(order.spec, filled=str(filled), state=state), order.request
        )

    def orders_received(self) -> int:
        return count(self.world, ENDPOINTS["binance"].create)


def _with(spec: Spec, **changes: str) -> Spec:
    return Spec(**{**spec.__dict__, **changes})


@pytest.fixture(params=["paper", "ccxt-binance"])
def venue(request: pytest.FixtureRequest, db: None) -> Venue:
    if request.param == "paper":
        catalog = BinanceVenue().adapter.load_markets()  # the same recorded rules as the ccxt side
        return PaperVenue(catalog)
    return BinanceVenue()


def semantics(report: OrderReport) -> tuple[Any, ...]:
    """Everything that must agree; venue order ids and timestamps legitimately differ."""
    return (
        report.client_order_id,
        report.symbol,
        report.side,
        report.type,
        report.status,
        report.qty,
        report.price,
        report.filled_qty,
        report.avg_fill_price,
        report.fee_quote,
        report.remaining_qty,
        report.is_done,
    )


def buy(cid: str, qty: str = "0.2", price: Decimal = LIMIT_PRICE, symbol: str = SYMBOL) -> OrderRequest:
    return OrderRequest(cid, symbol, OrderSide.BUY, OrderType.LIMIT, D(qty), price)


def test_both_implement_the_protocol(venue: Venue) -> None:
    assert isinstance(venue.adapter, ExchangeAdapter)


def test_an_unknown_client_id_is_none(venue: Venue) -> None:
    assert venue.adapter.fetch_order("tvc1g1p0l0ea0", SYMBOL) is None


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (buy("tvc1g2p0l0ea0", price=D("60.005")), "tick"),
        (buy("tvc1g2p0l0ea0", qty="0.0005"), "step"),
        (buy("tvc1g2p0l0ea0", qty="0.05"), "notional 3 is below the minimum 5"),
        (buy("tvc1g2p0l0ea0", symbol="FOO/USDT"), "unknown symbol"),
    ],
)
def test_a_filter_violation_is_invalid_order_and_nothing_is_placed(
    venue: Venue, request_: OrderRequest, match: str
) -> None:
    with pytest.raises(InvalidOrder, match=match):
        venue.adapter.create_order(request_)
    assert venue.orders_received() == 0
    assert venue.adapter.fetch_order(request_.client_order_id, SYMBOL) is None


def test_a_resting_order_is_open_then_cancelled(venue: Venue) -> None:
    request = buy("tvc1g3p0l0ea0")
    created = venue.adapter.create_order(request)
    assert semantics(created) == (
        "tvc1g3p0l0ea0", SYMBOL, OrderSide.BUY, OrderType.LIMIT, OrderStatus.OPEN,
        D("0.2"), D("60"), D("0"), None, D("0"), D("0.2"), False,
    )  # fmt: skip
    for value in (created.qty, created.price, created.filled_qty, created.fee_quote):
        assert type(value) is Decimal
    assert semantics(venue.adapter.fetch_order(request.client_order_id, SYMBOL)) == semantics(created)
    assert [r.client_order_id for r in venue.adapter.fetch_open_orders(SYMBOL)] == ["tvc1g3p0l0ea0"]

    cancelled = venue.adapter.cancel_order(request.client_order_id, SYMBOL)
    assert (cancelled.status, cancelled.filled_qty, cancelled.is_done) == (
        OrderStatus.CANCELLED,
        D("0"),
        True,
    )
    again = venue.adapter.cancel_order(request.client_order_id, SYMBOL)
    assert semantics(again) == semantics(cancelled)
    assert venue.adapter.fetch_open_orders(SYMBOL) == []
    assert venue.orders_received() == 1


def test_fills_are_cumulative_until_the_order_is_filled(venue: Venue) -> None:
    request = buy("tvc1g4p0l0ea0")
    venue.adapter.create_order(request)

    venue.trade_through(request, D("0.1"))
    half = venue.adapter.fetch_order(request.client_order_id, SYMBOL)
    assert half is not None
    assert (half.status, half.filled_qty, half.remaining_qty, half.avg_fill_price) == (
        OrderStatus.OPEN,
        D("0.1"),
        D("0.1"),
        D("60"),
    )

    venue.trade_through(request, D("0.2"))
    full = venue.adapter.fetch_order(request.client_order_id, SYMBOL)
    assert full is not None
    assert (full.status, full.filled_qty, full.remaining_qty, full.avg_fill_price, full.is_done) == (
        OrderStatus.FILLED,
        D("0.2"),
        D("0"),
        D("60"),
        True,
    )
    assert venue.adapter.cancel_order(request.client_order_id, SYMBOL).status is OrderStatus.FILLED


def test_cancelling_after_a_partial_fill_keeps_the_fill(venue: Venue) -> None:
    request = buy("tvc1g5p0l0ea0")
    venue.adapter.create_order(request)
    venue.trade_through(request, D("0.1"))
    cancelled = venue.adapter.cancel_order(request.client_order_id, SYMBOL)
    assert (cancelled.status, cancelled.filled_qty, cancelled.remaining_qty) == (
        OrderStatus.CANCELLED,
        D("0.1"),
        D("0.1"),
    )


def test_cancelling_an_unknown_order_is_order_not_found(venue: Venue) -> None:
    with pytest.raises(OrderNotFound):
        venue.adapter.cancel_order("tvc1g6p0l0ea0", SYMBOL)
