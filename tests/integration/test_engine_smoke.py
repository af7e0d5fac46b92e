"""The vertical slice: webhook → group → ladder → fills → take-profit → slot released."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.models import GroupStatus, LegState, PositionGroup, Signal, SignalStatus, Trade

pytestmark = pytest.mark.django_db


def test_entry_signal_opens_group_and_places_the_whole_ladder(driver):
    driver.send()
    signal = Signal.objects.get()
    assert signal.status == SignalStatus.APPLIED
    assert signal.reason.startswith("opened group #")
    group = PositionGroup.objects.get()
    legs = list(group.legs.order_by("index"))
    assert [leg.index for leg in legs] == [0, 1, 2, 3, 4]
    assert legs[0].state == LegState.FILLED  # DCA0 fills at once at the signal price
    assert legs[0].avg_fill_price == Decimal("43000")
    assert all(leg.state == LegState.OPEN for leg in legs[1:])
    assert group.status == GroupStatus.PARTIALLY_FILLED


def test_price_falling_through_a_leg_fills_it_and_rising_to_tp_closes_it(driver):
    driver.send()
    group = PositionGroup.objects.get()
    driver.price("BTCUSDT", "42780")  # crosses DCA1 at 42785
    dca1 = group.legs.get(index=1)
    assert dca1.state == LegState.FILLED
    assert dca1.avg_fill_price == Decimal("42785")
    # DCA1's TP is 0.5 % above its fill: 42998.925
    driver.price("BTCUSDT", "42999")
    dca1.refresh_from_db()
    assert dca1.state == LegState.HIT_TP
    trade = Trade.objects.get(reason="tp_leg")
    assert trade.qty == dca1.filled_qty
    assert trade.realized_pnl > 0


def test_exit_closes_everything_cancels_unfilled_and_releases_the_slot(driver):
    driver.send()
    driver.send(intent="exit", side=None, price="43100")
    group = PositionGroup.objects.get()
    assert group.status == GroupStatus.CLOSED
    states = set(group.legs.exclude(index=0).values_list("state", flat=True))
    assert states == {LegState.CANCELLED}
    assert group.legs.get(index=0).state == LegState.CLOSED
    assert Trade.objects.filter(reason="exit").count() == 1
