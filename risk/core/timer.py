"""The post-full wait timer (issue 4, rule 2): when it starts, restarts, and how long is left.

The timer does not start at first entry. The engine calls `timer_start` after every pyramid, order
acceptance and fill, and `on_replacement` on every further entry signal, storing what they return;
eligibility reads it back through `timer_remaining`. `now` is always the caller's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .snapshot import TimerStart

_NO_TIME = timedelta(0)


def timer_should_start(
    condition: TimerStart | str,
    pyramids_received: int,
    max_pyramids: int,
    all_dca_submitted: bool,
    all_dca_filled: bool,
) -> bool:
    """Whether `condition` holds: the last allowed pyramid arrived; or, with every pyramid in, every
    DCA order of every pyramid was accepted; or every leg filled.

    The DCA conditions also need the group full: the wait is a post-full wait that never starts at
    first entry, yet one pyramid's orders are all accepted (and may all fill) right after it.
    """
    condition = TimerStart(condition)
    if pyramids_received < max_pyramids:
        return False
    if condition is TimerStart.AFTER_5_PYRAMIDS:
        return True
    if condition is TimerStart.AFTER_ALL_DCA_SUBMITTED:
        return all_dca_submitted
    return all_dca_filled


def timer_start(
    started_at: datetime | None,
    now: datetime,
    *,
    condition: TimerStart | str,
    pyramids_received: int,
    max_pyramids: int,
    all_dca_submitted: bool,
    all_dca_filled: bool,
) -> datetime | None:
    """The timer's start after an engine event: unchanged once running, `now` the first time its
    condition holds, None while it has not."""
    if started_at is not None:
        return started_at
    if timer_should_start(condition, pyramids_received, max_pyramids, all_dca_submitted, all_dca_filled):
        return now
    return None


def on_replacement(
    started_at: datetime | None,
    now: datetime,
    *,
    pyramids_received: int,
    max_pyramids: int,
    reset_timer_on_replacement: bool,
) -> datetime | None:
    """The timer's start after a further entry signal for the group: restarted at `now` when the
    group already has all its pyramids and the setting is on, otherwise unchanged.

    A timer that has not started stays unstarted: the signal is not its start condition.
    """
    if reset_timer_on_replacement and started_at is not None and pyramids_received >= max_pyramids:
        return now
    return started_at


def timer_remaining(started_at: datetime | None, now: datetime, wait_minutes: int) -> timedelta | None:
    """Time left on the wait; zero once it has run, None while the timer has not started."""
    if started_at is None:
        return None
    return max(started_at + timedelta(minutes=wait_minutes) - now, _NO_TIME)
