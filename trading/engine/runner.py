"""APScheduler wiring. One worker thread runs every job, so there is exactly one writer."""

from __future__ import annotations

import logging
from typing import Literal

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .. import live
from .feeds import PaperFeedDriver
from .loop import Engine, guarded

log = logging.getLogger(__name__)

RECONCILE_EVERY_SEC = 300
MARKET_CHECK_EVERY_SEC = 5  # refresh_all itself decides which accounts are due


def build_scheduler(
    engine: Engine, *, blocking: bool = False, paper_feed: Literal["manual", "walk", "replay"] | None = None
) -> BackgroundScheduler | BlockingScheduler:
    cfg = engine.ctx.cfg
    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_cls(
        # "default" is the one writer; "live" only reads and pushes to browsers.
        executors={"default": ThreadPoolExecutor(max_workers=1), "live": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        timezone="UTC",
    )

    poll_ms = [cfg.app.engine_poll_interval_ms]

    def tick() -> None:
        engine.tick()
        # A saved config applies at once; that includes the loop's own cadence.
        wanted = engine.ctx.cfg.app.engine_poll_interval_ms
        if wanted != poll_ms[0]:
            poll_ms[0] = wanted
            scheduler.reschedule_job("tick", trigger="interval", seconds=wanted / 1000)

    scheduler.add_job(guarded(tick), "interval", seconds=cfg.app.engine_poll_interval_ms / 1000, id="tick")
    scheduler.add_job(
        guarded(engine.heartbeat), "interval", seconds=cfg.app.heartbeat_interval_sec, id="heartbeat"
    )
    scheduler.add_job(
        guarded(engine.refresh_markets), "interval", seconds=MARKET_CHECK_EVERY_SEC, id="markets"
    )
    scheduler.add_job(guarded(engine.reconcile), "interval", seconds=RECONCILE_EVERY_SEC, id="reconcile")
    scheduler.add_job(guarded(engine.prune_events), "interval", hours=6, id="prune-events")

    def push_live() -> None:
        live.flush()

    # Coalesced console pushes at most every ui.realtime_update_ms.
    scheduler.add_job(
        push_live, "interval", seconds=cfg.ui.realtime_update_ms / 1000, id="live-push", executor="live"
    )
    mode = paper_feed or cfg.exchange.paper_feed
    if mode in ("walk", "replay"):
        driver = PaperFeedDriver(engine.ctx, mode)

        def paper_feed_step() -> None:
            driver.step()

        scheduler.add_job(guarded(paper_feed_step), "interval", seconds=1, id="paper-feed")
    return scheduler
