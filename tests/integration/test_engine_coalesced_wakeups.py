"""Wake-ups that arrive while a tick runs cost one more tick, which takes everything waiting and
runs only the periodic steps that are due (each has its own cadence)."""

from __future__ import annotations

import pytest

from trading.engine import intake, queueing, takeprofit
from trading.engine.loop import EXPIRE_EVERY
from trading.engine.wakeup import MAX_RERUNS, Waker
from trading.models import Signal, SignalStatus

pytestmark = pytest.mark.django_db


class Calls:
    """Counts the calls of a step while still running it."""

    def __init__(self, step) -> None:
        self.step = step
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.step(*args, **kwargs)


def test_wake_ups_during_a_tick_run_it_once_more_not_once_each():
    waker = Waker()
    runs: list[int] = []

    def tick() -> None:
        runs.append(1)
        if len(runs) == 1:
            for _ in range(5):  # five webhooks committed while the first tick runs
                waker.wake()

    waker.run(tick)

    assert waker.wakeups == 5
    assert len(runs) == 2


def test_a_wake_up_during_a_tick_does_not_run_the_tp_sweep_twice(driver, monkeypatch):
    sweep = Calls(takeprofit.sweep)
    monkeypatch.setattr(takeprofit, "sweep", sweep)
    waker = Waker()
    ticks: list[int] = []
    driver.webhook(price="43000", trade_id="first")

    def tick() -> None:
        driver.engine.tick()
        ticks.append(1)
        if len(ticks) == 1:  # a signal committed while the first tick ran wakes the engine again
            driver.webhook(symbol="ETHUSDT", price="2000", trade_id="during")
            waker.wake()

    waker.run(tick)

    assert len(ticks) == 2
    assert sweep.count == 1  # the order sync and TP sweep keep their own cadence
    statuses = dict(Signal.objects.values_list("trade_id", "status"))
    assert statuses == {"first": SignalStatus.APPLIED, "during": SignalStatus.APPLIED}


def test_the_queue_expiry_runs_on_its_own_cadence_not_every_tick(driver, clock, monkeypatch):
    expire = Calls(queueing.expire)
    monkeypatch.setattr(queueing, "expire", expire)

    driver.engine.tick()
    driver.engine.tick()  # woken again at once: expiry is not due
    assert expire.count == 1

    clock.advance(seconds=EXPIRE_EVERY.total_seconds())
    driver.engine.tick()
    assert expire.count == 2


def test_a_tick_woken_for_one_signal_takes_every_signal_waiting(driver):
    for n in range(7):
        driver.webhook(symbol="ETHUSDT", price="2000", trade_id=f"wave-{n}")

    report = driver.engine.tick()

    assert report.signals == 7
    assert not Signal.objects.filter(status=SignalStatus.RECEIVED).exists()


def test_expiry_still_happens_when_only_woken_ticks_run(driver, clock, monkeypatch):
    """A steady stream of wake-ups never starves the expiry: its cadence follows the clock."""
    expire = Calls(queueing.expire)
    monkeypatch.setattr(queueing, "expire", expire)
    for _ in range(5):
        driver.engine.tick()
        clock.advance(milliseconds=400)
    assert expire.count == 2  # at 0 s and at 1.2 s (the first tick at or after 1 s)


def test_a_backlog_is_worked_through_without_waiting_for_the_poll(driver):
    """A tick that applied a full batch runs again at once (the scheduler's wiring, runner.py):
    45 waiting signals take three ticks in one run, not three poll intervals."""
    for n in range(2 * intake.BATCH + 5):
        driver.webhook(symbol="ETHUSDT", price="2000", trade_id=f"backlog-{n}", timeframe=str(1 + n))
    waker = Waker()
    ticks: list[int] = []

    def tick() -> bool:
        ticks.append(1)
        return driver.engine.tick().more_waiting

    waker.run(tick)

    assert len(ticks) == 3
    assert not Signal.objects.filter(status=SignalStatus.RECEIVED).exists()


def test_reruns_stop_after_a_bound_so_other_jobs_get_the_thread():
    waker = Waker()
    runs: list[int] = []

    def always_more() -> bool:
        runs.append(1)
        return True

    waker.run(always_more)

    assert len(runs) == MAX_RERUNS + 1
