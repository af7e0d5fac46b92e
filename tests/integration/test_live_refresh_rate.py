"""`ui.realtime_update_ms` takes effect without a restart: the engine's console-push job and the web
process's flusher both follow a saved change."""

from __future__ import annotations

import threading
import time

import pytest

from trading import config_service, live
from trading.engine.runner import LIVE_PUSH_JOB, build_scheduler

from ..conftest import configure

pytestmark = pytest.mark.django_db


def _interval_sec(scheduler) -> float:
    return scheduler.get_job(LIVE_PUSH_JOB).trigger.interval.total_seconds()


def test_the_engine_push_job_follows_a_saved_refresh_rate(engine) -> None:
    configure(ui={"realtime_update_ms": 500})
    engine.ctx.refresh_config()
    scheduler = build_scheduler(engine)
    assert _interval_sec(scheduler) == 0.5

    configure(ui={"realtime_update_ms": 2000})
    engine.ctx.refresh_config()  # what the next tick does
    scheduler.get_job(LIVE_PUSH_JOB).func()  # the job runs once more at its old pace

    assert _interval_sec(scheduler) == 2.0


def test_the_web_flusher_asks_for_its_interval_after_every_flush() -> None:
    configure(ui={"realtime_update_ms": 100})
    config_service.current()
    asked: list[float] = []
    stop = threading.Event()

    def interval() -> float:
        value = config_service.cached().ui.realtime_update_ms / 1000
        asked.append(value)
        return value

    live.start_flusher(interval, stop)
    deadline = time.monotonic() + 30
    while len(asked) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    configure(ui={"realtime_update_ms": 300})
    config_service.current()  # a request of this process reads the new version
    while 0.3 not in asked and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    assert asked[0] == 0.1 and 0.3 in asked
