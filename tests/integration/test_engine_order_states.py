"""Every order state change is checked against the transition table, stamped with the engine clock
and, when a trader needs it, recorded: a cancellation names the order and why (issue 9, item 8)."""

from __future__ import annotations

import pytest

from exchanges.core.adapter import InsufficientFunds
from exchanges.ratelimit import OrderRateLimiter
from trading.core.clientid import Purpose
from trading.core.order_states import IllegalOrderTransition
from trading.engine import order_states
from trading.models import Event, Order, OrderState, Signal

from ..conftest import configure
from .engine_world import group_of, install_flaky_venue, leg, paper_account
from .risk_world import install_scripted_venue, order_is

pytestmark = pytest.mark.django_db


def cancellations(group_id: int) -> list[tuple[str, str]]:
    rows = Event.objects.filter(group_id_ref=group_id, message__contains=" cancelled: ").order_by("id")
    return list(rows.values_list("severity", "message"))


def told(order: Order) -> list[str]:
    return list(
        Event.objects.filter(message__startswith=f"order {order.client_order_id} ").values_list(
            "message", flat=True
        )
    )


def test_an_exit_that_cancels_four_resting_dca_orders_records_four_cancellations(driver):
    driver.send(price="43000")  # DCA0 fills; DCA1-4 rest on the exchange
    group = group_of()
    resting = list(Order.objects.filter(group=group, purpose="dca").order_by("id"))
    assert [o.state for o in resting] == [OrderState.OPEN] * 4

    driver.send(intent="exit", side=None, price="43000", trade_id="x")

    exit_id = Signal.objects.get(trade_id="x").pk
    why = f"group #{group.pk} closing (exit signal #{exit_id})"
    assert cancellations(group.pk) == [
        ("info", f"order {o.client_order_id} cancelled: {why}") for o in resting
    ]
    for order in resting:
        order.refresh_from_db()
        assert (order.state, order.error) == (OrderState.CANCELLED, why)
        event = Event.objects.get(message__startswith=f"order {order.client_order_id} cancelled")
        context = {key: event.context[key] for key in ("order", "purpose", "from", "to", "filled_qty")}
        assert context == {
            "order": order.client_order_id,
            "purpose": "dca",
            "from": "cancelling",
            "to": "cancelled",
            "filled_qty": "0",
        }


def test_unsent_orders_an_exit_drops_are_recorded_too_in_one_batch(driver, engine, clock):
    limiter = OrderRateLimiter(rate_per_sec=1, burst=1, clock=clock)
    engine.ctx.limiters[paper_account().pk] = limiter  # DCA0 leaves; DCA1-4 wait for tokens
    driver.send(price="43000")
    group = group_of()
    waiting = list(Order.objects.filter(group=group, state=OrderState.QUEUED).order_by("id"))
    assert len(waiting) == 4

    driver.send(intent="exit", side=None, price="43000", trade_id="x")

    why = f"group #{group.pk} closing (exit signal #{Signal.objects.get(trade_id='x').pk})"
    assert cancellations(group.pk) == [
        ("info", f"order {o.client_order_id} cancelled: {why}") for o in waiting
    ]
    assert set(Order.objects.filter(pk__in=[o.pk for o in waiting]).values_list("state", flat=True)) == {
        OrderState.CANCELLED
    }


def test_a_cancel_is_stamped_with_the_engine_clock(driver, clock):
    driver.send(price="43000")
    clock.advance(minutes=7)
    driver.send(intent="exit", side=None, price="43000", trade_id="x")

    for order in Order.objects.filter(purpose="dca"):
        assert order.updated_at == clock.current
    event = Event.objects.filter(message__contains=" cancelled: ").first()
    assert event.created_at == clock.current


def test_a_leg_take_profit_records_why_the_rest_of_its_entry_order_is_cancelled(driver):
    configure(exchange={"paper_partial_fill_ratio": "0.5"})
    driver.send(price="43000")
    driver.price("BTCUSDT", "42990")  # DCA0 completes
    driver.price("BTCUSDT", "42780")  # half of DCA1 (0.00116 of 0.00233) fills at 42785
    dca1 = Order.objects.get(leg=leg(group_of(), 1))
    assert dca1.state == OrderState.PARTIALLY_FILLED

    driver.price("BTCUSDT", "42999")  # DCA1's TP (42998.925) on what filled

    dca1.refresh_from_db()
    assert dca1.state == OrderState.CANCELLED
    assert told(dca1)[-1] == f"order {dca1.client_order_id} cancelled: its leg takes profit on what filled"


def test_an_order_the_exchange_cancels_on_its_own_is_recorded_as_a_warning(driver, engine):
    driver.send(price="43000")
    dca1 = Order.objects.get(leg=leg(group_of(), 1))
    engine.ctx.adapter(paper_account()).cancel_order(dca1.client_order_id, dca1.symbol)  # not us

    driver.tick()

    dca1.refresh_from_db()
    assert dca1.state == OrderState.CANCELLED
    event = Event.objects.get(message__startswith=f"order {dca1.client_order_id} cancelled")
    assert (event.severity, event.message) == (
        "warning",
        f"order {dca1.client_order_id} cancelled: cancelled by the exchange",
    )


def test_a_rejection_is_recorded_once(driver, engine):
    venue = install_scripted_venue(engine)
    venue.fail(order_is("BTC/USDT", Purpose.ENTRY), InsufficientFunds("60 USDT short"), once=True)
    driver.send(price="43000")

    entry = Order.objects.get(purpose="entry")
    assert entry.state == OrderState.REJECTED
    assert told(entry) == [f"order {entry.client_order_id} rejected by paper: 60 USDT short"]


def test_an_order_found_after_its_answer_was_lost_is_recorded_as_accepted(driver, engine):
    install_flaky_venue(engine, lose="response")
    driver.send(price="43000")

    entry = Order.objects.get(purpose="entry")
    assert entry.state == OrderState.FILLED
    assert Event.objects.filter(
        message__startswith=f"entry order {entry.client_order_id} accepted (found by its client id)"
    ).exists()


def test_an_illegal_order_move_raises_and_changes_nothing(driver, engine):
    driver.send(price="43000")
    entry = Order.objects.get(purpose="entry")
    assert entry.state == OrderState.FILLED
    events_before = Event.objects.count()

    with pytest.raises(IllegalOrderTransition, match="cannot move from filled to open"):
        order_states.move(engine.ctx, entry, OrderState.OPEN)

    fresh = Order.objects.get(pk=entry.pk)
    assert (fresh.state, fresh.updated_at) == (OrderState.FILLED, entry.updated_at)
    assert Event.objects.count() == events_before


def test_a_bulk_move_checks_every_order_before_writing_any(driver, engine):
    driver.send(price="43000")
    orders = list(Order.objects.filter(group=group_of()).order_by("id"))  # DCA0 filled, DCA1-4 open

    with pytest.raises(IllegalOrderTransition):
        order_states.move_all(engine.ctx, orders, OrderState.QUEUED)

    assert (
        list(Order.objects.order_by("id").values_list("state", flat=True))
        == [OrderState.FILLED] + [OrderState.OPEN] * 4
    )
