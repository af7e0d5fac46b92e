"""Activation rule 2 (issue 4): the post-full wait timer, its three start conditions and its restart
on a further entry signal, driven by the injected clock.

The timer counts from the event that starts it (the last pyramid's arrival, the last DCA order's
acceptance, the last leg's fill), not from the risk cycle that happens to notice it later: these
tests turn `evaluate_on_fill` off where a cycle must not run at the event itself.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchanges.core.adapter import TemporaryError
from risk.models import RiskAction
from trading.core.clientid import Purpose
from trading.models import Event, LegState, Signal, SignalStatus

from ..conftest import configure
from .risk_world import (
    BTC_PRICES,
    TWO_LEVELS,
    api,
    btc_pyramids,
    buy,
    install_scripted_venue,
    next_cycle,
    one_level_ladder,
    order_is,
    risk_report,
    row,
    state,
)

pytestmark = pytest.mark.django_db


def timer_of(btc) -> dict:
    shown = row(risk_report(api()), btc)
    return {key: shown[key] for key in ("timer_started_at", "timer_remaining_sec", "eligible", "reasons")}


def falling_btc_and_rising_eth(driver, clock, *, last_pyramid_after: timedelta = timedelta(0)):
    """ETH +149.5; BTC's four pyramids at T0 and the fifth `last_pyramid_after` later, then −12.19 %."""
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver, BTC_PRICES[:4])
    clock.advance(seconds=last_pyramid_after.total_seconds())
    buy(driver, "BTCUSDT", BTC_PRICES[4], size="200", trade_id="btc4")
    driver.price("BTCUSDT", "36000")
    driver.price("ETHUSDT", "2600")
    return btc


def test_after_5_pyramids_the_wait_runs_from_the_last_pyramids_arrival(driver, clock):
    one_level_ladder(post_full_wait_minutes=60, evaluate_on_fill=False)
    t0 = clock.current
    btc = falling_btc_and_rising_eth(driver, clock, last_pyramid_after=timedelta(seconds=5))
    arrived = t0 + timedelta(seconds=5)
    assert btc.pyramids.get(index=4).created_at == arrived

    next_cycle(driver, clock, seconds=30 * 60)  # the first cycle after the arrival: 30 min later

    assert timer_of(btc) == {
        "timer_started_at": arrived.isoformat(),
        "timer_remaining_sec": 30 * 60,
        "eligible": False,
        "reasons": ["wait timer has 30 min of 60 min left"],
    }
    next_cycle(driver, clock, seconds=30 * 60 - 10)
    assert timer_of(btc)["reasons"] == ["wait timer has 0 min 10 s of 60 min left"]
    assert not RiskAction.objects.exists()

    next_cycle(driver, clock, seconds=10)  # 60 min after the fifth pyramid arrived

    assert RiskAction.objects.get().loser_group_id == btc.pk
    assert clock.current == arrived + timedelta(minutes=60)


def test_the_timer_does_not_start_before_the_last_pyramid(driver, clock):
    one_level_ladder(post_full_wait_minutes=60)
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver, BTC_PRICES[:4])

    next_cycle(driver, clock, seconds=3 * 3600)

    shown = timer_of(btc)
    assert (shown["timer_started_at"], shown["timer_remaining_sec"]) == (None, None)
    assert "wait timer not started (starts after_5_pyramids)" in shown["reasons"]


def test_after_all_dca_submitted_waits_for_the_last_dca_order_to_be_accepted(driver, engine, clock):
    configure(
        grid_strategy={"dca_levels": TWO_LEVELS},
        risk_engine={
            "timer_start_condition": "after_all_dca_submitted",
            "post_full_wait_minutes": 60,
            "evaluate_on_fill": False,
        },
    )
    venue = install_scripted_venue(engine)
    # The exchange does not answer for the fifth pyramid's DCA1 until it is healed.
    venue.fail(order_is("BTC/USDT", Purpose.DCA, pyramid=4, leg=1), TemporaryError("timeout"))
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver)
    driver.price("BTCUSDT", "38700")  # −5.7 %; the fifth DCA1 (38610) would rest, not fill
    driver.price("ETHUSDT", "2600")
    [lost] = btc.legs.filter(pyramid__index=4, index=1)
    assert lost.state == LegState.PENDING

    next_cycle(driver, clock, seconds=5 * 60)

    assert timer_of(btc)["timer_started_at"] is None
    assert "wait timer not started (starts after_all_dca_submitted)" in timer_of(btc)["reasons"]

    venue.heal()
    clock.advance(seconds=5)
    driver.tick()  # the sync re-sends it and the exchange accepts it; no cycle is due yet
    accepted = clock.current
    lost.refresh_from_db()
    assert lost.state == LegState.OPEN

    next_cycle(driver, clock, seconds=10 * 60)

    shown = timer_of(btc)
    assert (shown["timer_started_at"], shown["timer_remaining_sec"]) == (accepted.isoformat(), 50 * 60)
    next_cycle(driver, clock, seconds=50 * 60 - 10)
    assert not RiskAction.objects.exists()
    next_cycle(driver, clock, seconds=10)
    assert RiskAction.objects.get().loser_group_id == btc.pk


def test_after_all_dca_filled_waits_for_the_last_leg_to_fill(driver, clock):
    configure(
        grid_strategy={"dca_levels": TWO_LEVELS},
        risk_engine={
            "timer_start_condition": "after_all_dca_filled",
            "post_full_wait_minutes": 60,
            "evaluate_on_fill": False,
        },
    )
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver)
    driver.price("ETHUSDT", "2600")
    driver.price("BTCUSDT", "38700")
    # Every DCA1 above 38700 has filled on the way down; the fifth pyramid's (38610) still rests.
    assert list(btc.legs.filter(index=1).values_list("state", flat=True)) == [LegState.FILLED] * 4 + [
        LegState.OPEN
    ]
    next_cycle(driver, clock, seconds=20 * 60)
    assert "wait timer not started (starts after_all_dca_filled)" in timer_of(btc)["reasons"]

    clock.advance(seconds=5)
    driver.price("BTCUSDT", "36000")  # fills the last leg; no cycle is due 5 s after the last one
    filled = clock.current
    assert btc.legs.get(pyramid__index=4, index=1).state == LegState.FILLED
    assert timer_of(btc)["timer_started_at"] is None

    next_cycle(driver, clock, seconds=15 * 60)

    shown = timer_of(btc)
    assert (shown["timer_started_at"], shown["timer_remaining_sec"]) == (filled.isoformat(), 45 * 60)
    next_cycle(driver, clock, seconds=45 * 60)
    assert RiskAction.objects.get().loser_group_id == btc.pk


def test_a_further_entry_signal_for_a_full_group_restarts_its_timer(driver, clock):
    one_level_ladder(post_full_wait_minutes=60)
    t0 = clock.current
    btc = falling_btc_and_rising_eth(driver, clock)
    next_cycle(driver, clock, seconds=40 * 60)
    assert timer_of(btc)["timer_started_at"] == t0.isoformat()

    driver.send(price="36000", size="200", trade_id="btc5")  # a sixth entry at T0 + 40 min

    sixth = Signal.objects.get(trade_id="btc5")
    assert (sixth.status, sixth.reason) == (SignalStatus.IGNORED, f"ignored: 5/5 pyramids on group #{btc.pk}")
    btc.refresh_from_db()
    assert btc.risk_timer_started_at == t0 + timedelta(minutes=40)
    assert Event.objects.filter(
        category="risk", message=f"risk timer of group #{btc.pk} restarted by a further entry signal"
    ).exists()

    next_cycle(driver, clock, seconds=30 * 60)  # T0 + 70 min: the old timer would have run
    assert timer_of(btc)["reasons"] == ["wait timer has 30 min of 60 min left"]
    assert not RiskAction.objects.exists()

    next_cycle(driver, clock, seconds=30 * 60)
    assert RiskAction.objects.get().loser_group_id == btc.pk


def test_with_reset_on_replacement_off_a_further_entry_leaves_the_timer_alone(driver, clock):
    one_level_ladder(post_full_wait_minutes=60, reset_timer_on_replacement=False)
    t0 = clock.current
    btc = falling_btc_and_rising_eth(driver, clock)
    next_cycle(driver, clock, seconds=40 * 60)

    driver.send(price="36000", size="200", trade_id="btc5")
    btc.refresh_from_db()
    assert btc.risk_timer_started_at == t0

    next_cycle(driver, clock, seconds=20 * 60)
    assert RiskAction.objects.get().loser_group_id == btc.pk
    assert (state().status, clock.current) == ("active", t0 + timedelta(minutes=60))
