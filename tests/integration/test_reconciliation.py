"""Reconciliation: the engine's orders against the exchange's. What it can explain it adopts or
marks; what it cannot it raises as an alert, never "fixing" it by trading."""

from __future__ import annotations

import pytest

from exchanges.core.adapter import OrderRequest, OrderStatus, OrderType
from exchanges.paper_models import PaperOrder
from trading.core.clientid import Purpose, client_order_id
from trading.core.types import OrderSide
from trading.engine.context import EngineContext
from trading.engine.loop import Engine
from trading.models import Event, LegState, Order, OrderState

from .engine_world import BTC_LADDER_PRICES, BTC_LADDER_QTYS, D, group_of, leg, paper_account

pytestmark = pytest.mark.django_db


def place_directly(engine, cid: str, price: str = "40000", qty: str = "0.001") -> PaperOrder:
    """An order someone put on the exchange by hand (or another bot): a resting limit buy."""
    engine.ctx.adapter(paper_account()).create_order(
        OrderRequest(
            client_order_id=cid,
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            qty=D(qty),
            price=D(price),
        )
    )
    return PaperOrder.objects.get(client_order_id=cid)


def alerts() -> list[str]:
    return list(
        Event.objects.filter(severity=Event.Severity.ERROR, message__startswith="reconciliation on paper")
        .order_by("id")
        .values_list("message", flat=True)
    )


def test_a_foreign_open_order_raises_an_alert_and_is_left_untouched(driver, engine):
    driver.price("BTCUSDT", "43000")
    place_directly(engine, "manual123")
    paper_before = PaperOrder.objects.count()

    engine.reconcile()

    assert alerts() == [
        "reconciliation on paper: open order BTC/USDT buy 0.001 (manual123: not placed by this engine);"
        " left untouched"
    ]
    foreign = PaperOrder.objects.get(client_order_id="manual123")
    assert (foreign.status, foreign.filled_qty) == (OrderStatus.OPEN.value, D("0"))
    assert PaperOrder.objects.count() == paper_before  # nothing cancelled, nothing traded against it
    assert not Order.objects.exists()


def test_an_engine_style_id_of_another_install_is_named_as_such(driver, engine):
    other = "zz99" if engine.ctx.namespace != "zz99" else "yy88"
    cid = client_order_id(other, 7, 0, 0, Purpose.ENTRY, 0)
    place_directly(engine, cid)

    engine.reconcile()

    assert alerts() == [
        f"reconciliation on paper: open order BTC/USDT buy 0.001 ({cid}: an engine-style id from another"
        " install); left untouched"
    ]
    assert PaperOrder.objects.get(client_order_id=cid).status == OrderStatus.OPEN.value
    assert not Order.objects.exists()


def test_an_id_of_this_engine_without_a_record_is_named_as_such(driver, engine):
    cid = client_order_id(engine.ctx.namespace, 999, 0, 1, Purpose.DCA, 0)
    place_directly(engine, cid)

    engine.reconcile()

    [alert] = alerts()
    assert f"({cid}: an id of this engine that it has no record of)" in alert
    assert PaperOrder.objects.get(client_order_id=cid).status == OrderStatus.OPEN.value


def test_an_own_order_recorded_as_finished_but_open_on_the_exchange_raises_an_alert(driver, engine):
    driver.send(price="43000")
    dca2 = Order.objects.get(leg=leg(group_of(), 2))
    # The engine believes it is gone (say a lookup missed it); the exchange still works it.
    Order.objects.filter(pk=dca2.pk).update(state=OrderState.CANCELLED)

    engine.reconcile()

    assert alerts() == [
        f"reconciliation on paper: open order BTC/USDT buy {BTC_LADDER_QTYS[2]} ({dca2.client_order_id}:"
        " this engine's order, recorded as cancelled); left untouched"
    ]
    assert PaperOrder.objects.get(client_order_id=dca2.client_order_id).status == OrderStatus.OPEN.value


def test_the_engines_own_open_orders_raise_no_alert(driver, engine):
    driver.send(price="43000")  # DCA1-4 rest on the exchange
    assert PaperOrder.objects.filter(status=OrderStatus.OPEN.value).count() == 4

    assert engine.reconcile() == 0
    assert alerts() == []


def test_an_order_the_exchange_no_longer_knows_is_marked_cancelled_with_a_warning(driver, engine):
    driver.send(price="43000")
    dca1 = Order.objects.get(leg=leg(group_of(), 1))
    assert dca1.state == OrderState.OPEN
    PaperOrder.objects.filter(client_order_id=dca1.client_order_id).delete()
    paper_before = PaperOrder.objects.count()

    assert engine.reconcile() == 1

    dca1.refresh_from_db()
    assert (dca1.state, dca1.error) == (OrderState.CANCELLED, "the exchange no longer knows this order")
    assert Event.objects.filter(
        severity=Event.Severity.WARNING,
        message=f"order {dca1.client_order_id} cancelled: the exchange no longer knows this order",
    ).exists()
    assert leg(group_of(), 1).state == LegState.CANCELLED
    assert PaperOrder.objects.count() == paper_before  # not re-sent: it was accepted once already
    assert leg(group_of(), 2).state == LegState.OPEN  # the others are untouched


def test_fills_while_the_engine_was_down_are_adopted_on_start(driver, engine, clock):
    driver.send(price="43000")
    dca1 = Order.objects.get(leg=leg(group_of(), 1))
    # The engine stops ticking; the market drops through DCA1 while nobody watches.
    clock.advance(minutes=5)
    engine.ctx.adapter(paper_account()).set_price("BTC/USDT", BTC_LADDER_PRICES[1])
    assert PaperOrder.objects.get(client_order_id=dca1.client_order_id).status == OrderStatus.FILLED.value
    assert leg(group_of(), 1).state == LegState.OPEN  # the old engine never saw it

    clock.advance(minutes=5)
    restarted = Engine(EngineContext(clock=clock), use_lock=False)
    restarted.start()

    dca1.refresh_from_db()
    assert dca1.state == OrderState.FILLED
    dca1_leg = leg(group_of(), 1)
    assert (dca1_leg.state, dca1_leg.filled_qty, dca1_leg.avg_fill_price) == (
        LegState.FILLED,
        BTC_LADDER_QTYS[1],
        BTC_LADDER_PRICES[1],
    )
    assert leg(group_of(), 2).state == LegState.OPEN
    assert Event.objects.filter(message="reconciled 1 order(s) with the exchange").exists()
    assert alerts() == []
