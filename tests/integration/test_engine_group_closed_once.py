"""A group closes once: one "group #N closed" event, however many paths see the close finish.

Several paths finish a close: the close order's fill, the cancellation of the last entry, the sweep
after an exit, the TP sweep and the risk cycle (which load their groups before acting). A path
still holding the group as it was before another one closed it must change nothing.
"""

from __future__ import annotations

import pytest

from trading.core.clientid import Purpose
from trading.engine import fills, positions
from trading.models import Command, Event, GroupStatus, Order, PositionGroup

from ..conftest import configure
from .engine_world import group_of, seed_paper_balance

pytestmark = pytest.mark.django_db


def closed_events(group: PositionGroup) -> list[str]:
    prefix = f"group #{group.pk} closed ("
    return list(Event.objects.filter(message__startswith=prefix).values_list("message", flat=True))


def open_two_filled_legs(driver) -> PositionGroup:
    driver.send(price="43000")  # DCA0 0.00232 @ 43000
    driver.price("BTCUSDT", "42780")  # DCA1 0.00233 @ 42785; DCA2-4 rest
    driver.price("BTCUSDT", "42900")
    return group_of()


def test_a_path_still_holding_the_group_from_before_its_close_records_no_second_close(driver, engine):
    held = open_two_filled_legs(driver)  # as the TP sweep or the risk cycle hold their groups
    driver.send(intent="exit", side=None, price="42900", trade_id="x")
    closed = group_of()
    assert closed.status == GroupStatus.CLOSED

    engine.ctx.clock.advance(seconds=5)
    fills.refresh_group(engine.ctx, held)

    assert len(closed_events(closed)) == 1
    again = group_of()
    assert (again.status, again.closed_at, again.close_reason) == (
        GroupStatus.CLOSED,
        closed.closed_at,
        closed.close_reason,
    )


def test_closing_a_group_another_path_already_closed_changes_nothing(driver, engine):
    held = open_two_filled_legs(driver)
    driver.send(intent="exit", side=None, price="42900", trade_id="x")
    closed = group_of()
    orders_before = Order.objects.count()

    engine.ctx.clock.advance(seconds=5)
    positions.close_group(engine.ctx, held, "aggregate take-profit", Purpose.TP_GROUP)

    assert len(closed_events(closed)) == 1
    again = group_of()
    assert (again.status, again.closed_at, again.close_reason) == (
        GroupStatus.CLOSED,
        closed.closed_at,
        closed.close_reason,
    )
    assert Order.objects.count() == orders_before


def _exit_with_partial_fills(driver, engine) -> None:
    configure(exchange={"paper_partial_fill_ratio": "0.5"})
    driver.send(price="43000")  # half of DCA0 fills at once
    driver.price("BTCUSDT", "42780")  # the rest of DCA0, half of DCA1
    driver.send(intent="exit", side=None, price="42780", trade_id="x")


def _reduce_then_exit(driver, engine) -> None:
    open_two_filled_legs(driver)
    driver.send(intent="reduce", side=None, size="0.002325", size_type="base", price="42900", trade_id="r")
    driver.send(intent="exit", side=None, price="42900", trade_id="x")


def _reverse(driver, engine) -> None:
    seed_paper_balance("BTC", "1")
    open_two_filled_legs(driver)
    driver.send(intent="reverse", side="sell", price="42900", trade_id="v")


def _operator_closes_twice(driver, engine) -> None:
    group = open_two_filled_legs(driver)
    for _ in range(2):
        Command.objects.create(kind="close_group", args={"group_id": group.pk}, created_at=engine.ctx.now())
    driver.tick()


@pytest.mark.parametrize(
    "close", [_exit_with_partial_fills, _reduce_then_exit, _reverse, _operator_closes_twice]
)
def test_every_way_a_group_closes_records_one_closed_event(driver, engine, close):
    close(driver, engine)

    group = PositionGroup.objects.order_by("id").first()
    assert group.status == GroupStatus.CLOSED
    assert len(closed_events(group)) == 1
