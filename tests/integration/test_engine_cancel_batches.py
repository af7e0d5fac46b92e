"""An exit cancels the group's resting legs together: one call to a venue that cancels in batches
(the paper exchange), one request per order elsewhere. A refused cancel is told once and asked
again until the venue answers: a leg left resting after an exit could still fill."""

from __future__ import annotations

from typing import Any

import pytest

from exchanges.core.adapter import OrderReport, TemporaryError
from exchanges.paper import PaperExchange
from exchanges.paper_models import PaperBalance, PaperOrder
from trading.engine.orders import CANCEL_RETRY_SEC
from trading.models import Event, GroupStatus, Order, OrderState

from .engine_world import group_of, paper_account

pytestmark = pytest.mark.django_db


def resting_entries() -> list[Order]:
    return list(Order.objects.filter(state=OrderState.OPEN).order_by("id"))


def test_an_exit_cancels_the_resting_legs_in_one_call_to_a_batch_venue(driver, monkeypatch):
    driver.send(price="43000")  # DCA0 fills at the signal's price, four legs rest below it
    resting = resting_entries()
    assert len(resting) == 4
    calls: list[list[str]] = []
    singles: list[str] = []
    cancel_orders, cancel_order = PaperExchange.cancel_orders, PaperExchange.cancel_order

    def batch_spy(self: PaperExchange, orders: list[tuple[str, str]]) -> list[Any]:
        calls.append([client_id for client_id, _ in orders])
        return cancel_orders(self, orders)

    def single_spy(self: PaperExchange, client_id: str, symbol: str) -> OrderReport:
        singles.append(client_id)
        return cancel_order(self, client_id, symbol)

    monkeypatch.setattr(PaperExchange, "cancel_orders", batch_spy)
    monkeypatch.setattr(PaperExchange, "cancel_order", single_spy)

    driver.send(intent="exit", side=None, trade_id="x")

    assert calls == [[order.client_order_id for order in resting]] and singles == []
    assert set(Order.objects.filter(pk__in=[o.pk for o in resting]).values_list("state", flat=True)) == {
        OrderState.CANCELLED
    }
    ids = [order.client_order_id for order in resting]
    assert set(PaperOrder.objects.filter(client_order_id__in=ids).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert group_of().status == GroupStatus.CLOSED
    assert not PaperBalance.objects.filter(account=paper_account(), locked__gt=0).exists()  # all freed


class OneAtATime:
    """A venue with no batch cancel (like the ccxt ones) that refuses to cancel one order."""

    def __init__(self, inner: Any, refuse: str) -> None:
        self.inner, self.refuse = inner, refuse
        self.asked: list[str] = []

    def cancel_order(self, client_order_id: str, symbol: str) -> OrderReport:
        self.asked.append(client_order_id)
        if client_order_id == self.refuse:
            raise TemporaryError("exchange unreachable")
        return self.inner.cancel_order(client_order_id, symbol)

    def __getattr__(self, name: str) -> Any:  # the engine looks for `cancel_orders` on the class
        return getattr(self.inner, name)


def test_a_venue_without_batches_is_asked_once_per_order_and_a_refused_cancel_is_told(driver, engine):
    driver.send(price="43000")
    resting = resting_entries()
    refused = resting[1]
    account = paper_account()
    venue = OneAtATime(engine.ctx.adapter(account), refuse=refused.client_order_id)
    engine.ctx._adapters[account.pk] = venue

    driver.send(intent="exit", side=None, trade_id="x")

    assert venue.asked == [order.client_order_id for order in resting]
    states = dict(
        Order.objects.filter(pk__in=[o.pk for o in resting]).values_list("client_order_id", "state")
    )
    assert states.pop(refused.client_order_id) == OrderState.CANCELLING  # asked, not confirmed
    assert set(states.values()) == {OrderState.CANCELLED}  # the others before and after it are booked
    told = Event.objects.get(message__startswith=f"cancel of {refused.client_order_id} not confirmed")
    assert told.severity == "warning" and "exchange unreachable" in told.message
    assert group_of().status == GroupStatus.CLOSING  # not closed while a leg may still fill


def test_an_unconfirmed_cancel_is_asked_again_until_the_exchange_answers(driver, engine, clock):
    driver.send(price="43000")
    refused = resting_entries()[1]
    account = paper_account()
    venue = OneAtATime(engine.ctx.adapter(account), refuse=refused.client_order_id)
    engine.ctx._adapters[account.pk] = venue
    driver.send(intent="exit", side=None, trade_id="x")
    asked = lambda: venue.asked.count(refused.client_order_id)  # noqa: E731

    driver.tick()  # within the retry delay: not asked again yet
    assert asked() == 1
    clock.advance(seconds=CANCEL_RETRY_SEC)
    driver.tick()  # the exchange still refuses: asked again, not told again
    assert asked() == 2
    assert Event.objects.filter(message__startswith=f"cancel of {refused.client_order_id}").count() == 1

    venue.refuse = ""  # the exchange answers again
    clock.advance(seconds=CANCEL_RETRY_SEC)
    driver.tick()

    assert asked() == 3
    refused.refresh_from_db()
    assert refused.state == OrderState.CANCELLED
    assert PaperOrder.objects.get(client_order_id=refused.client_order_id).status == "cancelled"
    assert group_of().status == GroupStatus.CLOSED  # nothing left resting: the exit completes


def test_a_leg_that_fills_before_its_late_cancel_is_closed_too(driver, engine, clock):
    driver.send(price="43000")
    late = resting_entries()[0]  # the highest resting leg: the first a falling price reaches
    account = paper_account()
    venue = OneAtATime(engine.ctx.adapter(account), refuse=late.client_order_id)
    engine.ctx._adapters[account.pk] = venue
    driver.send(intent="exit", side=None, trade_id="x")  # DCA0 closed; this leg's cancel refused
    assert group_of().status == GroupStatus.CLOSING

    venue.inner.set_price("BTC/USDT", late.price)  # it fills at the venue before the cancel is asked again
    clock.advance(seconds=CANCEL_RETRY_SEC)
    driver.tick()  # the sync books the fill; what the group now holds is closed the way it was closing
    driver.tick()

    late.refresh_from_db()
    assert late.state == OrderState.FILLED
    exits = list(Order.objects.filter(purpose="exit").order_by("id").values_list("filled_qty", "state"))
    assert exits[-1] == (late.qty, OrderState.FILLED)  # a second exit order, for the late fill
    assert len(exits) == 2
    assert group_of().status == GroupStatus.CLOSED
    held = PaperBalance.objects.get(account=account, asset="BTC")
    assert held.free + held.locked == 0  # the exit left nothing bought
    assert Event.objects.filter(message__contains="filled after its close; closing it too").count() == 1
