"""Idempotent orders: deterministic client ids, looked up before any re-send, never placed twice."""

from __future__ import annotations

import pytest

from trading.core.clientid import Purpose, client_order_id, parse_client_order_id
from trading.engine import orders
from trading.engine.context import EngineContext
from trading.engine.loop import Engine
from trading.models import Event, LegState, Order, OrderState

from .engine_world import (
    BTC_LADDER_QTYS,
    D,
    group_of,
    install_flaky_venue,
    leg,
    legs_of,
    paper_orders_per_client_id,
)

pytestmark = pytest.mark.django_db


def test_a_send_that_never_reached_the_exchange_is_looked_up_then_sent_once(driver, engine):
    venue = install_flaky_venue(engine, lose="request")
    driver.send(price="43000")

    entry = Order.objects.get(purpose="entry")
    assert venue.sent.count(entry.client_order_id) == 2  # the lost attempt and the one re-send
    assert entry.state == OrderState.FILLED
    assert Event.objects.filter(message__contains=f"order {entry.client_order_id} not confirmed").exists()
    assert set(paper_orders_per_client_id().values()) == {1}
    assert leg(group_of(), 0).filled_qty == D("0.00232")


def test_a_lost_response_is_adopted_from_the_exchange_not_re_sent(driver, engine):
    venue = install_flaky_venue(engine, lose="response")
    driver.send(price="43000")

    entry = Order.objects.get(purpose="entry")
    assert venue.sent.count(entry.client_order_id) == 1  # the sync found it: no second request
    assert entry.state == OrderState.FILLED
    assert entry.exchange_order_id.startswith("P")
    assert set(paper_orders_per_client_id().values()) == {1}
    dca0 = leg(group_of(), 0)
    assert (dca0.state, dca0.filled_qty, dca0.avg_fill_price) == (LegState.FILLED, D("0.00232"), D("43000"))


def test_orders_committed_before_a_crash_are_sent_exactly_once_on_restart(driver, engine, clock):
    venue = install_flaky_venue(engine, down=True)  # every request times out, then the process dies
    driver.send(price="43000")
    group = group_of()
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.SUBMITTING}
    assert not paper_orders_per_client_id()

    restarted = Engine(EngineContext(clock=clock), use_lock=False)
    restarted.start()  # reconciles: each order looked up by client id, then sent

    assert set(paper_orders_per_client_id().values()) == {1}
    assert len(paper_orders_per_client_id()) == 5
    assert [lg.state for lg in legs_of(group)] == [LegState.FILLED] + [LegState.OPEN] * 4
    restarted.start()  # a second reconcile finds them all on the exchange: nothing new is sent
    assert sum(paper_orders_per_client_id().values()) == 5
    # The old process sent each order once; while the lookups failed it re-sent none of them blind.
    assert len(venue.sent) == 5


def test_client_ids_are_deterministic_and_unique(driver, engine):
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")
    driver.price("BTCUSDT", "42999")  # DCA1's TP
    driver.send(intent="exit", side=None, price="42999", trade_id="x")

    group = group_of()
    ns = engine.ctx.namespace
    orders = list(Order.objects.filter(group=group).order_by("id"))
    ids = [o.client_order_id for o in orders]
    assert len(set(ids)) == len(ids)
    assert ids == [
        f"tv{ns}g{group.pk}p0l0ea0",
        f"tv{ns}g{group.pk}p0l1da0",
        f"tv{ns}g{group.pk}p0l2da0",
        f"tv{ns}g{group.pk}p0l3da0",
        f"tv{ns}g{group.pk}p0l4da0",
        f"tv{ns}g{group.pk}plta0",
        f"tv{ns}g{group.pk}plxa0",
    ]
    for order in orders:
        pyramid = order.leg.pyramid.index if order.leg else None
        leg_index = order.leg.index if order.leg else None
        expected = client_order_id(ns, group.pk, pyramid, leg_index, Purpose(order.purpose), order.attempt)
        assert order.client_order_id == expected
        assert parse_client_order_id(order.client_order_id).group_id == group.pk
    assert [o.qty for o in orders[:5]] == BTC_LADDER_QTYS


def test_an_order_the_exchange_does_not_know_is_not_re_sent_while_its_request_could_still_land(
    driver, engine, clock
):
    venue = install_flaky_venue(engine, lose="request")
    venue.request_timeout_sec = 10  # like a ccxt venue: a request we gave up on may arrive late
    driver.send(price="43000")
    entry = Order.objects.get(purpose="entry")
    assert entry.state == OrderState.SUBMITTING
    settle = venue.request_timeout_sec + orders.SETTLE_MARGIN_SEC

    clock.advance(seconds=settle - 1)
    driver.tick()  # looked up again: still unknown, but a late request could still land
    assert venue.sent.count(entry.client_order_id) == 1

    clock.advance(seconds=2)
    driver.tick()  # no request can arrive any more: "unknown" now means "never got it"
    assert venue.sent.count(entry.client_order_id) == 2
    entry.refresh_from_db()
    assert entry.state == OrderState.FILLED
    assert set(paper_orders_per_client_id().values()) == {1}
