"""A tick APScheduler skips (the previous one still running) is counted and shown in health, not
logged as a warning each time: at a 100 ms cadence that is expected under load."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor, MaxInstancesReachedError
from apscheduler.schedulers.blocking import BlockingScheduler
from django.test import Client

from trading.engine.runner import TICK_JOB, build_scheduler, count_skipped_ticks
from trading.engine.skips import SkipCounter
from trading.models import EngineState

pytestmark = pytest.mark.django_db


class BusyExecutor(BaseExecutor):
    """An executor whose previous run never ends: it refuses every submission, as APScheduler's own
    pool does while a job already runs its `max_instances`."""

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        raise MaxInstancesReachedError(job)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        raise AssertionError("never reached: submit_job refuses first")


def skip_one_tick(scheduler: BlockingScheduler) -> None:
    """Run the engine's scheduler for one pass in which the tick is due but still busy: the real
    APScheduler code decides the skip, logs it and fires its event; the pass ends at that event."""
    scheduler.remove_executor("default")
    scheduler.add_executor(BusyExecutor(), "default")
    scheduler.modify_job(TICK_JOB, next_run_time=datetime.now(UTC))
    scheduler.add_listener(lambda event: scheduler.shutdown(wait=False), EVENT_JOB_MAX_INSTANCES)
    scheduler.start()  # blocking: returns once the listener above has shut it down


def test_a_skipped_tick_is_counted_and_reaches_health_with_the_heartbeat(engine: Any, client: Client) -> None:
    skip_one_tick(build_scheduler(engine, blocking=True))

    assert engine.skipped_ticks.count == 1
    assert EngineState.objects.get(pk=1).skipped_ticks == 0  # no write per skip
    engine.heartbeat()
    assert client.get("/api/v1/health").json()["skipped_ticks"] == 1


def test_a_skipped_tick_is_not_logged_as_a_warning(engine: Any, caplog: pytest.LogCaptureFixture) -> None:
    skip_one_tick(build_scheduler(engine, blocking=True))

    assert engine.skipped_ticks.count == 1  # the skip happened
    skips = [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert skips == []


def test_other_scheduler_warnings_still_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("apscheduler.scheduler").warning("Error getting due jobs from job store %r", "default")
    assert [r.levelno for r in caplog.records if r.name == "apscheduler.scheduler"] == [logging.WARNING]


def test_a_tick_missed_after_a_stall_counts_as_skipped_and_other_jobs_do_not() -> None:
    counter = SkipCounter()
    listener = count_skipped_ticks(counter)
    now = datetime.now(UTC)

    listener(JobExecutionEvent(EVENT_JOB_MISSED, TICK_JOB, "default", now))
    listener(JobExecutionEvent(EVENT_JOB_MISSED, "heartbeat", "default", now))

    assert counter.count == 1


def test_health_shows_no_skipped_ticks_before_the_engine_ran(client: Client) -> None:
    assert client.get("/api/v1/health").json()["skipped_ticks"] == 0
