"""APScheduler wiring. One worker thread runs every job, so there is exactly one writer."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import connections

from .. import live
from .auto_backup import AutoBackup
from .config_watch import WATCH_EVERY_SEC, ConfigWatch
from .equity import CHECK_EVERY_SEC, EquityRecorder
from .feeds import PaperFeedDriver
from .loop import Engine, guarded
from .price_history import CandleRefresher
from .skips import SkipCounter
from .wakeup import Waker, listen_postgres

log = logging.getLogger(__name__)

RECONCILE_EVERY_SEC = 300
MARKET_CHECK_EVERY_SEC = 5  # refresh_all itself decides which accounts are due


PaperFeed = Literal["manual", "walk", "replay"]
LIVE_PUSH_JOB = "live-push"
TICK_JOB = "tick"
# A tick skipped because the previous one still runs, or dropped after a stall past the grace time.
SKIP_EVENTS = EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED


def count_skipped_ticks(counter: SkipCounter) -> Callable[[JobEvent], None]:
    """The scheduler listener that counts the tick job's skipped runs (skips.py says why)."""

    def listener(event: JobEvent) -> None:
        if event.job_id == TICK_JOB:
            counter.add()

    return listener


class EngineService:
    """The engine loop on its scheduler thread, with a stop that never waits past its deadline."""

    def __init__(self, engine: Engine, *, paper_feed: PaperFeed | None = None) -> None:
        self.engine = engine
        self._stopping = threading.Event()
        self.waker = Waker()
        self.scheduler = build_scheduler(
            engine, paper_feed=paper_feed, stopping=self._stopping, waker=self.waker
        )

    def start(self) -> None:
        self.scheduler.start()
        listen_postgres(self.waker, self._stopping)

    def wake(self) -> None:
        """Run the tick now: a signal or command was committed (thread-safe, cheap)."""
        if not self._stopping.is_set():
            self.waker.wake()

    def request_stop(self) -> None:
        """Start no further step (thread-safe, cheap: callable from a signal handler)."""
        self._stopping.set()
        self.engine.stopping.set()  # and end the tick in progress at its next step

    def stop(self, timeout: float) -> bool:
        """Let the step in progress finish, then release the engine's lock; never wait past `timeout`.

        False when the step overran: the caller exits anyway, which is safe — every step commits its
        own work and the next start picks up the rest, exactly as after kill -9.
        """
        self.request_stop()
        done = threading.Event()
        stopped: list[bool] = []

        def finish() -> None:
            try:
                self.scheduler.shutdown(wait=True)  # waits for the running step; queued ones skip
                self.engine.stop()
                connections.close_all()
                stopped.append(True)
            except Exception:  # noqa: BLE001 - reported; the process is going away regardless
                log.exception("engine: stopping failed")
            finally:
                done.set()

        # A daemon thread: if the step hangs, the process must still be able to exit without it.
        threading.Thread(target=finish, name="engine-stop", daemon=True).start()
        if done.wait(timeout):
            return bool(stopped)
        log.error(
            "engine: the step in progress is still running; exiting without it "
            "(each step commits its own work; the next start takes over from there)"
        )
        return False


def build_scheduler(
    engine: Engine,
    *,
    blocking: bool = False,
    paper_feed: PaperFeed | None = None,
    stopping: threading.Event | None = None,
    waker: Waker | None = None,
) -> BackgroundScheduler | BlockingScheduler:
    """The engine's jobs; once `stopping` is set, a job that was due or queued returns at once.
    With a `waker`, the tick also runs as soon as it is woken (wakeup.py)."""
    cfg = engine.ctx.cfg
    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_cls(
        # "default" is the one writer; "live" only reads and pushes to browsers.
        executors={"default": ThreadPoolExecutor(max_workers=1), "live": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone="UTC",
    )

    poll_ms = [cfg.app.engine_poll_interval_ms]

    def step(job: Callable[[], object]) -> Callable[[], None]:
        @functools.wraps(job)
        def run() -> None:
            if stopping is None or not stopping.is_set():
                job()

        return run

    waker = waker or Waker()

    def tick() -> None:
        waker.run(lambda: engine.tick().more_waiting)
        # A saved config applies at once; that includes the loop's own cadence.
        wanted = engine.ctx.cfg.app.engine_poll_interval_ms
        if wanted != poll_ms[0]:
            poll_ms[0] = wanted
            scheduler.reschedule_job(TICK_JOB, trigger="interval", seconds=wanted / 1000)

    scheduler.add_job(
        step(guarded(tick)), "interval", seconds=cfg.app.engine_poll_interval_ms / 1000, id=TICK_JOB
    )
    scheduler.add_listener(count_skipped_ticks(engine.skipped_ticks), SKIP_EVENTS)
    waker.attach(lambda: scheduler.modify_job(TICK_JOB, next_run_time=datetime.now(UTC)))
    scheduler.add_job(
        step(guarded(engine.heartbeat)), "interval", seconds=cfg.app.heartbeat_interval_sec, id="heartbeat"
    )
    scheduler.add_job(
        step(guarded(engine.refresh_markets)), "interval", seconds=MARKET_CHECK_EVERY_SEC, id="markets"
    )
    scheduler.add_job(
        step(guarded(engine.reconcile)), "interval", seconds=RECONCILE_EVERY_SEC, id="reconcile"
    )
    scheduler.add_job(step(guarded(engine.prune_events)), "interval", hours=6, id="prune-events")
    # Equity snapshots every analytics.snapshot_interval_sec, compacted hourly (equity.py).
    scheduler.add_job(
        step(guarded(EquityRecorder(engine).step)), "interval", seconds=CHECK_EVERY_SEC, id="equity"
    )
    # Live venues' candles for the group chart, every few minutes (price_history.py).
    scheduler.add_job(step(guarded(CandleRefresher(engine).step)), "interval", seconds=30, id="candles")
    # config.json edits and account key changes picked up (config_watch.py); the daily backup reads
    # only, so it runs beside the trading thread rather than holding up ticks (auto_backup.py).
    scheduler.add_job(
        step(guarded(ConfigWatch(engine).poll)), "interval", seconds=WATCH_EVERY_SEC, id="config-watch"
    )
    scheduler.add_job(
        step(guarded(AutoBackup(engine).step)), "interval", seconds=60, id="auto-backup", executor="live"
    )

    push_ms = [cfg.ui.realtime_update_ms]

    def push_live() -> None:
        live.flush()
        # A saved ui.realtime_update_ms applies at once, as the tick's own cadence does.
        wanted = engine.ctx.cfg.ui.realtime_update_ms
        if wanted != push_ms[0]:
            push_ms[0] = wanted
            scheduler.reschedule_job(LIVE_PUSH_JOB, trigger="interval", seconds=wanted / 1000)

    # Coalesced console pushes at most every ui.realtime_update_ms.
    scheduler.add_job(
        step(push_live),
        "interval",
        seconds=cfg.ui.realtime_update_ms / 1000,
        id=LIVE_PUSH_JOB,
        executor="live",
    )
    mode = paper_feed or cfg.exchange.paper_feed
    if mode in ("walk", "replay"):
        driver = PaperFeedDriver(engine.ctx, mode)

        def paper_feed_step() -> None:
            driver.step()

        scheduler.add_job(step(guarded(paper_feed_step)), "interval", seconds=1, id="paper-feed")
    return scheduler
