"""The engine: one `tick(now)` that tests call directly, and the steps it runs in order."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.db.models import Subquery

from risk.engine import cycle  # the risk app plugs into the loop here

from .. import config_service, events
from ..models import EngineState, Event, Signal
from ..models.inbox import PayloadClaim
from . import (
    admission,
    commands,
    dispatch,
    fencing,
    intake,
    markets,
    orders,
    positions,
    price_history,
    promotion,
    queueing,
    reconcile,
    takeprofit,
)
from .context import EngineContext, engine_state
from .fencing import LeaseLost
from .lock import EngineLock, owner_label
from .lockguard import LockGuard
from .skips import SkipCounter

log = logging.getLogger(__name__)

HOLD_LEGS_MAX = timedelta(seconds=2)
# Queue ages are counted in minutes: looking once a second is on time, and a tick woken for every
# webhook of a busy stream does not read the whole queue each time.
EXPIRE_EVERY = timedelta(seconds=1)
LONGEST_DUPLICATE_WINDOW = timedelta(seconds=3600)  # security.duplicate_window_seconds' upper bound


@dataclass
class TickReport:
    commands: int = 0
    signals: int = 0
    orders_synced: int = 0
    take_profits: int = 0
    expired: int = 0
    promoted: int = 0
    risk_actions: int = 0

    @property
    def found_work(self) -> bool:
        return any(vars(self).values())

    @property
    def more_waiting(self) -> bool:
        """A full batch of signals was applied: more may wait in the inbox (a backlog)."""
        return self.signals >= intake.BATCH


class Engine:
    """Owns the lock and the context. Exactly one per database is ever running."""

    def __init__(self, ctx: EngineContext | None = None, *, use_lock: bool = True) -> None:
        config_service.ensure_initialised()
        self.ctx = ctx or EngineContext()
        self.lock = EngineLock() if use_lock else None
        self.guard = LockGuard(self)
        self._last_sync = None
        self._last_expiry: datetime | None = None
        self._holding_since: datetime | None = None
        # Set from another thread (a signal handler) to end the current tick between steps.
        self.stopping = threading.Event()
        # Counted by the scheduler (runner.py), published by `heartbeat`.
        self.skipped_ticks = SkipCounter()

    @property
    def suspended(self) -> str | None:
        """Why this engine is not trading (it cannot prove it holds the lock), or None."""
        return self.guard.suspended

    def start(self) -> None:
        if self.lock is not None:
            self.lock.acquire()
        self.take_over()
        admission.announce_paper_mode(self.ctx)
        commands.recover_interrupted(self.ctx)
        markets.refresh_all(self.ctx, force=True)
        self.reconcile()

    def take_over(self) -> None:
        """Holding the lock: start a new lease (older engines' writes now fail) and say so."""
        now = self.ctx.now()
        self.ctx.epoch = fencing.take_lease(owner_label(), now)
        state = engine_state()
        state.status = EngineState.Status.PAUSED if state.paused else EngineState.Status.RUNNING
        state.started_at = now
        state.heartbeat_at = now
        state.owner = owner_label()
        state.last_error = ""
        state.skipped_ticks = self.skipped_ticks.count
        state.config_version = config_service.cached_version()  # the config this engine starts with
        state.save()
        events.record(
            events.Category.ENGINE, f"engine started ({state.owner}, lease {self.ctx.epoch})", now=now
        )

    def reconcile(self) -> int:
        """Resume from the database: look every live order up on its exchange and adopt what changed."""
        if self.suspended:
            return 0
        changed = reconcile.reconcile(self.ctx)
        dispatch.dispatch(self.ctx)  # what the exchange never received goes out again, once
        if changed:
            events.record(
                events.Category.ENGINE, f"reconciled {changed} order(s) with the exchange", now=self.ctx.now()
            )
        return changed

    def tick(self) -> TickReport:
        """One pass, only while the lock is provably held; stops at once when it is not."""
        if not self.guard.may_trade():
            return TickReport()
        try:
            return self._tick()
        except LeaseLost as exc:
            self.guard.suspend(f"a write was refused: {exc}")
            return TickReport()

    def _tick(self) -> TickReport:
        """Every step commits its own changes, so a crash between steps loses nothing."""
        ctx = self.ctx
        ctx.refresh_config()
        report = TickReport()
        # A stop request ends the tick between steps (each step has committed its work), so a
        # clean stop waits for one step, not for a whole tick of a backlog.
        report.commands = commands.apply_pending(ctx)
        paused = EngineState.objects.filter(pk=1).values_list("paused", flat=True).first()
        if not paused and not self.stopping.is_set():
            report.signals = intake.apply_pending(ctx, stop=self.stopping.is_set)
        if self.stopping.is_set():
            return report
        # Signals that arrived while this batch was decided (a burst) come before its resting legs.
        backlog = report.signals >= intake.BATCH or (report.signals > 0 and intake.signals_waiting())
        hold = self._hold_resting_legs(backlog=backlog)
        dispatch.dispatch(ctx, urgent_only=hold)  # orders still waiting for rate-limit room
        if self._sync_due() and not self.stopping.is_set():
            report.orders_synced = orders.sync_live_orders(ctx)
            orders.retry_cancels(ctx)  # cancels an outage left unconfirmed (resting legs of an exit)
            positions.finish_closing(ctx)  # what filled after its group's close (a cancel too late)
            dispatch.dispatch(ctx, urgent_only=hold)  # lost submissions the sync put back in the queue
            report.take_profits = takeprofit.sweep(ctx)
        if self.stopping.is_set():
            return report
        if self._expiry_due():
            report.expired = queueing.expire(ctx)
        if not paused:
            report.promoted = promotion.promote_ready(ctx)
        report.risk_actions = self._risk_step(report, paused=bool(paused), hold=hold)
        return report

    def _hold_resting_legs(self, *, backlog: bool) -> bool:
        """While signals queue up in the inbox, decisions, closes and each entry's first order go
        first; resting DCA legs (limit orders away from the market) wait, at most HOLD_LEGS_MAX."""
        now = self.ctx.now()
        if not backlog:
            self._holding_since = None
            return False
        if self._holding_since is None:
            self._holding_since = now
        return now - self._holding_since < HOLD_LEGS_MAX

    def _risk_step(self, report: TickReport, *, paused: bool, hold: bool = False) -> int:
        """Every `evaluate_interval_sec`, and after fills when `evaluate_on_fill`; one action at most.

        While a burst of signals is still being decided (`hold`: its resting legs wait too, at most
        HOLD_LEGS_MAX), the evaluation after fills waits for the tick that finds the inbox empty:
        the fills are the burst's own DCA0s, and the next entry of the burst should not queue behind
        a look at every open group. The interval's evaluation is never held."""
        settings = self.ctx.cfg.risk_engine
        now = self.ctx.now()
        # Fills are counted where they are booked (sync, price commands, feeds, placement).
        after_fill = settings.evaluate_on_fill and self.ctx.fills_since_risk > 0 and not hold
        if not (after_fill or cycle.due(self.ctx.last_risk_at, now, settings.evaluate_interval_sec)):
            return 0
        if paused:
            cycle.block(self.ctx, "engine paused")
            return 0
        return 1 if cycle.run_cycle(self.ctx, trigger="fill" if after_fill else "interval") else 0

    def _expiry_due(self) -> bool:
        now = self.ctx.now()
        if self._last_expiry is None or now - self._last_expiry >= EXPIRE_EVERY:
            self._last_expiry = now
            return True
        return False

    def _sync_due(self) -> bool:
        now = self.ctx.now()
        interval = self.ctx.cfg.exchange.order_sync_interval_ms / 1000
        if self._last_sync is None or (now - self._last_sync).total_seconds() >= interval:
            self._last_sync = now
            return True
        return False

    def heartbeat(self) -> None:
        if self.suspended:
            return  # the state row belongs to whichever engine holds the lock now
        paused = EngineState.objects.filter(pk=1).values_list("paused", flat=True).first()
        status = EngineState.Status.PAUSED if paused else EngineState.Status.RUNNING
        EngineState.objects.filter(pk=1).update(
            heartbeat_at=self.ctx.now(),
            status=status,
            skipped_ticks=self.skipped_ticks.count,
            # Kept here, not by every webhook: the web's insert path stays at three statements.
            last_webhook_at=Subquery(Signal.objects.order_by("-received_at").values("received_at")[:1]),
        )

    def prune_events(self) -> int:
        """Drop events older than `logging.event_retention_days` (the JSON log file keeps its own rotation)."""
        if self.suspended:
            return 0
        cutoff = self.ctx.now() - timedelta(days=self.ctx.cfg.logging.event_retention_days)
        deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
        # A payload claim only matters within the duplicate window (at most an hour).
        PayloadClaim.objects.filter(claimed_at__lt=self.ctx.now() - LONGEST_DUPLICATE_WINDOW).delete()
        price_history.prune(self.ctx)  # the group chart's samples (core.price_history.KEEP_FOR)
        return deleted

    def refresh_markets(self) -> None:
        if not self.suspended:
            markets.refresh_all(self.ctx)

    def stop(self) -> None:
        if not self.suspended:
            EngineState.objects.filter(pk=1).update(status=EngineState.Status.STOPPED)
            events.record(events.Category.ENGINE, "engine stopped", now=self.ctx.now())
        if self.lock is not None:
            self.lock.release()


def guarded(step):
    """Wrap a scheduled step: fresh DB connections around it, and no exception escapes."""

    def run() -> None:
        close_old_connections()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the loop must survive anything
            log.exception("engine step %s failed", getattr(step, "__name__", step))
            try:
                EngineState.objects.filter(pk=1).update(
                    status=EngineState.Status.ERROR, last_error=str(exc)[:500]
                )
                events.record(
                    events.Category.ERROR,
                    f"engine step failed: {type(exc).__name__}: {exc}",
                    severity=events.Severity.ERROR,
                )
            except Exception:  # noqa: BLE001
                log.exception("could not record the failure")
        finally:
            close_old_connections()

    run.__name__ = getattr(step, "__name__", "step")
    return run
