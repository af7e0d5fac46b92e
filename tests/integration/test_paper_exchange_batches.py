"""The paper exchange places a batch of orders in one call, judged exactly as one order at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.core.adapter import InsufficientFunds, InvalidOrder, OrderNotFound, OrderReport, OrderStatus
from exchanges.models import ExchangeAccount
from exchanges.paper import PaperExchange
from exchanges.paper_models import PaperOrder
from trading.core.types import OrderSide

from .test_paper_exchange import SMALL_CATALOG, FakeClock, limit, market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL

pytestmark = pytest.mark.django_db


def _exchange(label: str, usdt: str = "10000") -> PaperExchange:
    return PaperExchange(
        ExchangeAccount.objects.create(label=label),
        fee_percent=D("0.1"),
        partial_fill_ratio=D("1"),
        starting_balance_usdt=D(usdt),
        clock=FakeClock(),
        catalog_loader=lambda: SMALL_CATALOG,
    )


def _comparable(report: OrderReport) -> tuple:
    """A report without the venue's own id (each account numbers its orders itself)."""
    return (report.client_order_id, report.status, report.qty, report.price, report.filled_qty,
            report.avg_fill_price, report.fee_quote)  # fmt: skip


# Fills at once (marketable), rests, a market order, one on another symbol, then a sell of what
# the first bought: each judged against what the orders before it did to the balances.
MIXED = [
    limit("dca0", BUY, "0.01", "30100"),
    limit("dca1", BUY, "0.01", "29000"),
    market("m1", BUY, "0.002"),
    limit("eth0", BUY, "0.1", "2000", symbol="ETH/USDT"),
    limit("sell", SELL, "0.005", "29900"),
]


def test_a_batch_is_judged_exactly_like_the_same_orders_placed_one_by_one() -> None:
    one_by_one, batched = _exchange("one"), _exchange("batch")
    for paper in (one_by_one, batched):
        paper.set_price("BTC/USDT", D("30000"))
        paper.set_price("ETH/USDT", D("2000"))

    singles = [one_by_one.create_order(request) for request in MIXED]
    together = batched.create_orders(MIXED)

    assert [_comparable(r) for r in together] == [_comparable(r) for r in singles]  # type: ignore[arg-type]
    assert batched.fetch_balance() == one_by_one.fetch_balance()
    assert [r.status for r in singles] == [
        OrderStatus.FILLED, OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.FILLED
    ]  # fmt: skip


def test_a_refused_order_in_a_batch_leaves_the_orders_around_it_placed() -> None:
    paper = _exchange("batch", usdt="400")
    paper.set_price("BTC/USDT", D("30000"))

    outcomes = paper.create_orders(
        [
            limit("first", BUY, "0.01", "29000"),  # locks 290.29 of the 400 USDT
            limit("too-big", BUY, "0.01", "28000"),  # 280.28 more: 170.57 short
            limit("bad-tick", BUY, "0.001", "29000.005"),
            limit("last", BUY, "0.001", "29000"),  # 29.03: fits in what is left
        ]
    )

    assert isinstance(outcomes[1], InsufficientFunds)
    assert isinstance(outcomes[2], InvalidOrder)
    assert [o.status for o in (outcomes[0], outcomes[3])] == [OrderStatus.OPEN, OrderStatus.OPEN]  # type: ignore[union-attr]
    assert set(PaperOrder.objects.values_list("client_order_id", flat=True)) == {"first", "last"}
    usdt = paper.fetch_balance()["USDT"]
    assert usdt.free + usdt.locked == D("400")  # nothing filled: every unit is still there, some locked
    assert usdt.locked == D("290.29") + D("29.029")


def test_a_batch_returns_a_taken_client_id_unchanged_and_places_the_rest() -> None:
    paper = _exchange("batch")
    paper.set_price("BTC/USDT", D("30000"))
    first = paper.create_order(limit("taken", BUY, "0.01", "29000"))

    again, new = paper.create_orders(
        [limit("taken", BUY, "0.02", "28000"), limit("new", BUY, "0.01", "28500")]
    )

    assert again == first  # type: ignore[comparison-overlap]
    assert new.status == OrderStatus.OPEN  # type: ignore[union-attr]
    assert PaperOrder.objects.filter(client_order_id="taken").count() == 1


def test_each_order_of_a_batch_gets_its_own_venue_id() -> None:
    paper = _exchange("batch")
    paper.set_price("BTC/USDT", D("30000"))

    reports = paper.create_orders([limit(f"c{n}", BUY, "0.001", "29000") for n in range(3)])

    ids = [r.exchange_order_id for r in reports]  # type: ignore[union-attr]
    rows = dict(PaperOrder.objects.values_list("client_order_id", "exchange_order_id"))
    assert ids == [rows["c0"], rows["c1"], rows["c2"]]
    assert len(set(ids)) == 3 and all(i.startswith("P") for i in ids)


def test_cancelling_a_batch_frees_what_cancelling_one_by_one_frees() -> None:
    one_by_one, batched = _exchange("one"), _exchange("batch")
    for paper in (one_by_one, batched):
        paper.set_price("BTC/USDT", D("30000"))
        paper.set_price("ETH/USDT", D("2000"))
        paper.create_orders([*MIXED, limit("eth1", BUY, "0.1", "1900", symbol="ETH/USDT")])
    ids = [("dca1", "BTC/USDT"), ("eth1", "ETH/USDT"), ("dca0", "BTC/USDT"), ("sell", "BTC/USDT")]

    singles = [one_by_one.cancel_order(client_id, symbol) for client_id, symbol in ids]
    together = batched.cancel_orders(ids)

    assert [_comparable(r) for r in together] == [_comparable(r) for r in singles]  # type: ignore[arg-type]
    assert [r.status for r in together] == [  # type: ignore[union-attr]
        OrderStatus.CANCELLED,  # resting
        OrderStatus.CANCELLED,
        OrderStatus.FILLED,  # filled at once (marketable): its report comes back unchanged
        OrderStatus.FILLED,
    ]
    assert batched.fetch_balance() == one_by_one.fetch_balance()
    assert all(b.locked == 0 for b in batched.fetch_balance().values())


def test_an_unknown_order_in_a_cancel_batch_fails_alone() -> None:
    paper = _exchange("mixed")
    paper.set_price("BTC/USDT", D("30000"))
    paper.create_order(limit("rest", BUY, "0.01", "29000"))

    outcomes = paper.cancel_orders([("nope", "BTC/USDT"), ("rest", "BTC/USDT")])

    assert isinstance(outcomes[0], OrderNotFound)
    assert outcomes[1].status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert PaperOrder.objects.get(client_order_id="rest").status == OrderStatus.CANCELLED.value
