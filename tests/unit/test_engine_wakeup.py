"""The engine's tick runs when woken, and a wake-up that arrives during a tick is never lost."""

from __future__ import annotations

from trading.engine.wakeup import MAX_RERUNS, Waker


def test_a_wake_up_between_ticks_nudges_the_scheduler_to_run_the_tick_now() -> None:
    waker = Waker()
    nudges: list[int] = []
    waker.attach(lambda: nudges.append(1))
    waker.wake()
    assert nudges == [1]


def test_a_wake_up_during_a_tick_runs_the_tick_again_instead_of_nudging() -> None:
    waker = Waker()
    nudges: list[int] = []
    waker.attach(lambda: nudges.append(1))
    runs: list[int] = []

    def tick() -> None:
        runs.append(1)
        if len(runs) == 1:
            waker.wake()  # a signal committed after this tick read the inbox

    waker.run(tick)
    assert (len(runs), nudges) == (2, [])


def test_a_quiet_tick_runs_once() -> None:
    waker = Waker()
    runs: list[int] = []
    waker.run(lambda: runs.append(1))
    assert runs == [1]


def test_reruns_are_bounded_so_a_stream_of_wake_ups_cannot_starve_the_other_jobs() -> None:
    waker = Waker()
    waker.attach(lambda: None)
    runs: list[int] = []

    def tick() -> None:
        runs.append(1)
        waker.wake()  # woken during every tick

    waker.run(tick)
    assert len(runs) == MAX_RERUNS + 1


def test_a_failing_tick_still_leaves_the_waker_ready() -> None:
    waker = Waker()
    nudges: list[int] = []
    waker.attach(lambda: nudges.append(1))

    def tick() -> None:
        raise RuntimeError("boom")

    try:
        waker.run(tick)
    except RuntimeError:
        pass
    waker.wake()  # not "running" any more: the scheduler is nudged
    assert nudges == [1]
