"""Group states Waiting → Live → Partially filled → Active → Closing → Closed, derived from the legs."""

from __future__ import annotations

import pytest

from trading.models import GroupStatus, LegState, Order, OrderState

from .engine_world import group_of, install_flaky_venue, legs_of

pytestmark = pytest.mark.django_db


def test_group_waits_until_the_exchange_accepts_its_first_orders(driver, engine):
    venue = install_flaky_venue(engine, down=True)
    driver.send(price="43000")

    group = group_of()
    assert group.status == GroupStatus.WAITING
    assert {lg.state for lg in legs_of(group)} == {LegState.PENDING}

    venue.heal()
    driver.tick()
    group.refresh_from_db()
    assert group.status == GroupStatus.PARTIALLY_FILLED
    assert [lg.state for lg in legs_of(group)] == [LegState.FILLED] + [LegState.OPEN] * 4


def test_a_waiting_group_turns_live_once_its_orders_rest_on_the_exchange(driver, engine):
    driver.price("BTCUSDT", "43300")  # above DCA0's 43215 guard: accepted orders will only rest
    venue = install_flaky_venue(engine, down=True)
    driver.send(price="43000")
    assert group_of().status == GroupStatus.WAITING

    venue.heal()
    driver.tick()  # the sync sends every order once; none fills
    group = group_of()
    assert {lg.state for lg in legs_of(group)} == {LegState.OPEN}
    assert group.status == GroupStatus.LIVE


def test_live_then_partially_filled_then_active(driver):
    driver.price("BTCUSDT", "43300")  # above DCA0's 43215 guard: nothing fills yet
    driver.send(price="43000")
    group = group_of()
    assert group.status == GroupStatus.LIVE
    assert {lg.state for lg in legs_of(group)} == {LegState.OPEN}

    driver.price("BTCUSDT", "42800")  # DCA0 fills at its guard, DCA1 (42785) not yet
    group.refresh_from_db()
    assert group.status == GroupStatus.PARTIALLY_FILLED

    driver.price("BTCUSDT", "42100")  # through every leg
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE
    assert {lg.state for lg in legs_of(group)} == {LegState.FILLED}


def test_closing_until_the_close_order_is_confirmed_then_closed(driver, engine):
    driver.send(price="43000")
    venue = install_flaky_venue(engine, down=True)
    driver.send(intent="exit", side=None, trade_id="x")

    group = group_of()
    assert group.status == GroupStatus.CLOSING
    assert Order.objects.get(purpose="exit").state == OrderState.SUBMITTING

    venue.heal()
    driver.tick()
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    assert group.closed_at is not None
    assert [lg.state for lg in legs_of(group)] == [LegState.CLOSED] + [LegState.CANCELLED] * 4
