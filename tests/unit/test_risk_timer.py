"""The post-full wait timer (issue 4, rule 2): start conditions, remaining time, reset on replacement.

Every test drives the shared injected `clock`; the core never reads the wall clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from risk.core import (
    GroupSnapshot,
    LegPosition,
    RiskSettings,
    TimerStart,
    evaluate_group,
    on_replacement,
    snapshot_pnl,
    timer_remaining,
    timer_should_start,
    timer_start,
)
from trading.core.types import Side


def test_after_5_pyramids_starts_when_the_last_allowed_pyramid_arrives() -> None:
    condition = TimerStart.AFTER_5_PYRAMIDS
    assert not timer_should_start(condition, 4, 5, all_dca_submitted=True, all_dca_filled=True)
    assert timer_should_start(condition, 5, 5, all_dca_submitted=False, all_dca_filled=False)
    # The limit is the configured one, not a literal 5.
    assert timer_should_start(condition, 3, 3, all_dca_submitted=False, all_dca_filled=False)


def test_after_all_dca_submitted_waits_for_every_dca_order_of_every_pyramid_to_be_accepted() -> None:
    condition = TimerStart.AFTER_ALL_DCA_SUBMITTED
    assert not timer_should_start(condition, 5, 5, all_dca_submitted=False, all_dca_filled=False)
    assert timer_should_start(condition, 5, 5, all_dca_submitted=True, all_dca_filled=False)
    # The first pyramid's orders are all accepted at first entry; the timer must not start then.
    assert not timer_should_start(condition, 1, 5, all_dca_submitted=True, all_dca_filled=False)


def test_after_all_dca_filled_waits_for_every_leg_of_every_pyramid_to_fill() -> None:
    condition = TimerStart.AFTER_ALL_DCA_FILLED
    assert not timer_should_start(condition, 5, 5, all_dca_submitted=True, all_dca_filled=False)
    assert not timer_should_start(condition, 4, 5, all_dca_submitted=True, all_dca_filled=True)
    assert timer_should_start(condition, 5, 5, all_dca_submitted=True, all_dca_filled=True)
    assert timer_should_start("after_all_dca_filled", 5, 5, all_dca_submitted=True, all_dca_filled=True)


@pytest.mark.parametrize(
    ("condition", "events"),
    [
        # (pyramids, all submitted, all filled) after each engine event; the last one meets the condition.
        (TimerStart.AFTER_5_PYRAMIDS, [(1, True, True), (4, True, True), (5, False, False)]),
        (TimerStart.AFTER_ALL_DCA_SUBMITTED, [(1, False, False), (5, False, False), (5, True, False)]),
        (TimerStart.AFTER_ALL_DCA_FILLED, [(1, True, True), (5, True, False), (5, True, True)]),
    ],
)
def test_the_timer_starts_at_the_event_that_meets_its_condition_and_then_holds(
    clock, condition, events
) -> None:
    started = None
    for pyramids, submitted, filled in events[:-1]:
        clock.advance(minutes=7)
        started = timer_start(
            started,
            clock(),
            condition=condition,
            pyramids_received=pyramids,
            max_pyramids=5,
            all_dca_submitted=submitted,
            all_dca_filled=filled,
        )
        assert started is None  # never at first entry, nor before the condition holds
    pyramids, submitted, filled = events[-1]
    start_time = clock.advance(minutes=7)
    kwargs = dict(
        condition=condition,
        pyramids_received=pyramids,
        max_pyramids=5,
        all_dca_submitted=submitted,
        all_dca_filled=filled,
    )
    started = timer_start(started, clock(), **kwargs)
    assert started == start_time
    clock.advance(minutes=20)
    assert timer_start(started, clock(), **kwargs) == start_time  # a later event does not move it
    assert timer_remaining(started, clock(), 60) == timedelta(minutes=40)


def test_timer_remaining_counts_down_to_zero_and_is_none_before_start(clock) -> None:
    started = clock()
    assert timer_remaining(None, clock(), 60) is None
    assert timer_remaining(started, clock.advance(minutes=45), 60) == timedelta(minutes=15)
    assert timer_remaining(started, clock.advance(minutes=15), 60) == timedelta(0)
    assert timer_remaining(started, clock.advance(minutes=1), 60) == timedelta(0)


def test_reset_on_replacement_restarts_a_full_groups_timer(clock) -> None:
    started = clock()
    clock.advance(minutes=50)
    restarted = on_replacement(
        started, clock(), pyramids_received=5, max_pyramids=5, reset_timer_on_replacement=True
    )
    assert restarted == clock()
    # Ten minutes later the original 60 would have run out; the restarted timer has 50 left.
    clock.advance(minutes=10)
    assert timer_remaining(started, clock(), 60) == timedelta(0)
    assert timer_remaining(restarted, clock(), 60) == timedelta(minutes=50)


def test_replacement_leaves_the_timer_alone_when_reset_is_off_or_the_group_is_not_full(clock) -> None:
    started = clock()
    now = clock.advance(minutes=50)
    assert (
        on_replacement(started, now, pyramids_received=5, max_pyramids=5, reset_timer_on_replacement=False)
        == started
    )
    assert (
        on_replacement(started, now, pyramids_received=4, max_pyramids=5, reset_timer_on_replacement=True)
        == started
    )
    # A timer that has not started is not started by a signal (that is not its start condition).
    assert (
        on_replacement(None, now, pyramids_received=5, max_pyramids=5, reset_timer_on_replacement=True)
        is None
    )


def test_a_restarted_timer_makes_an_eligible_loser_wait_again(clock) -> None:
    settings = RiskSettings()
    group = GroupSnapshot(
        group_id=1,
        symbol="BTC/USDT",
        side=Side.LONG,
        opened_at=clock.advance(minutes=-300),
        pyramids_received=5,
        timer_started_at=clock.advance(minutes=200),  # 100 minutes before "now"
        blocked=False,
        skip_once=False,
        price=D(90),
        legs=(LegPosition(1, D(1), D(100), D(0)),),
        rules=None,
    )
    now = clock.advance(minutes=100)
    assert evaluate_group(group, snapshot_pnl(group), settings, now).eligible

    restarted = on_replacement(
        group.timer_started_at, now, pyramids_received=5, max_pyramids=5, reset_timer_on_replacement=True
    )
    group = replace(group, timer_started_at=restarted)
    evaluation = evaluate_group(group, snapshot_pnl(group), settings, clock.advance(minutes=1))
    assert not evaluation.eligible
    assert evaluation.timer_remaining == timedelta(minutes=59)
    assert evaluation.reasons == ("wait timer has 59 min of 60 min left",)
