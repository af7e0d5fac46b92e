"""APScheduler wiring. One worker thread runs every job, so there is exactly one writer."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Literal

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import connections

from .. import live
from .feeds import PaperFeedDriver
from .loop import Engine, guarded

log = logging.getLogger(__name__)

RECONCILE_EVERY_SEC = 300
MARKET_CHECK_EVERY_SEC = 5  # refresh_all itself decides which accounts are due


PaperFeed = Literal["manual", "walk", "replay"]


class EngineService:
    """The engine loop on its scheduler thread, with a stop that never waits past its deadline."""

    def __init__(self, engine: Engine, *, paper_feed: PaperFeed | None = None) -> None:
        self.engine = engine
        self._stopping = threading.Event()
        self.scheduler = build_scheduler(engine, paper_feed=paper_feed, stopping=self._stopping)

    def start(self) -> None:
        self.scheduler.start()

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
) -> BackgroundScheduler | BlockingScheduler:
    """The engine's jobs; once `stopping` is set, a job that was due or queued returns at once."""
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

    def tick() -> None:
        engine.tick()
        # A saved config applies at once; that includes the loop's own cadence.
        wanted = engine.ctx.cfg.app.engine_poll_interval_ms
        if wanted != poll_ms[0]:
            poll_ms[0] = wanted
            scheduler.reschedule_job("tick", trigger="interval", seconds=wanted / 1000)

    scheduler.add_job(
        step(guarded(tick)), "interval", seconds=cfg.app.engine_poll_interval_ms / 1000, id="tick"
    )
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

    def push_live() -> None:
        live.flush()

    # Coalesced console pushes at most every ui.realtime_update_ms.
    scheduler.add_job(
        step(push_live), "interval", seconds=cfg.ui.realtime_update_ms / 1000, id="live-push", executor="live"
    )
    mode = paper_feed or cfg.exchange.paper_feed
    if mode in ("walk", "replay"):
        driver = PaperFeedDriver(engine.ctx, mode)

        def paper_feed_step() -> None:
            driver.step()

        scheduler.add_job(step(guarded(paper_feed_step)), "interval", seconds=1, id="paper-feed")
    return scheduler
