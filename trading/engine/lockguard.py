"""Trade only while the lock is provably held; stop at once when it is not, resume on re-acquiring.

Checked before every tick. A PostgreSQL advisory lock vanishes with its connection (a database
blip, a proxy restart), and a second engine may then start and trade the same inbox. The first
engine finds out here — or, if it is mid-tick, from the fence on its next write (`LeaseLost`) —
and stops trading with a Critical event. It keeps trying to take the lock back (every few seconds)
and resumes only with a new lease, after reconciling every order with the exchange.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .. import events
from .lock import EngineAlreadyRunning

if TYPE_CHECKING:
    from .loop import Engine

log = logging.getLogger(__name__)

RETRY_EVERY = timedelta(seconds=2)


class LockGuard:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.suspended: str | None = None
        self._next_try: datetime | None = None
        self._told_other_holder = False
        self._unrecorded: list[tuple[str, str, datetime]] = []

    def may_trade(self) -> bool:
        if self.suspended is None:
            lock = self.engine.lock
            if lock is None or lock.held():
                return True
            self.suspend(
                "the engine's database lock is gone (its connection dropped or the lock file was removed)"
            )
        return self._try_resume()

    def suspend(self, why: str) -> None:
        """Stop trading now: no write of this engine's lease can commit from here on."""
        if self.suspended is not None:
            return
        self.suspended = why
        self.engine.ctx.epoch = 0  # the fence refuses epoch 0: nothing slips through mid-tick
        self._next_try = None
        self._told_other_holder = False
        log.critical("engine stopped trading: %s", why)
        self._record(f"engine stopped trading: {why}; it resumes only after taking the lock back")

    def _try_resume(self) -> bool:
        now = self.engine.ctx.now()
        if self._next_try is not None and now < self._next_try:
            return False
        self._next_try = now + RETRY_EVERY
        self._flush()
        lock = self.engine.lock
        try:
            if lock is not None:
                lock.release()  # drop the dead connection (or the stale file handle) first
                lock.acquire()
            self.engine.take_over()
        except EngineAlreadyRunning as exc:
            if not self._told_other_holder:
                self._told_other_holder = True
                self._record(f"engine still stopped: {exc}")
            return False
        except Exception as exc:  # noqa: BLE001 - the database may still be away: try again later
            log.warning("lock not re-acquired yet: %s", exc)
            return False
        why, self.suspended = self.suspended, None
        self._record(
            f"engine resumed trading: lock re-acquired (lease {self.engine.ctx.epoch}) after: {why}",
            events.Severity.WARNING,
        )
        self.engine.reconcile()
        return True

    def _record(self, message: str, severity: str = events.Severity.CRITICAL) -> None:
        """Record an event; if the database is away, keep it and record it at the next attempt."""
        self._unrecorded.append((message, severity, self.engine.ctx.now()))
        self._flush()

    def _flush(self) -> None:
        while self._unrecorded:
            text, level, when = self._unrecorded[0]
            try:
                events.record(events.Category.ENGINE, text, severity=level, now=when)
            except Exception:  # noqa: BLE001 - the database may be the very thing that went away
                log.warning("could not record yet (database away?): %s", text)
                return
            self._unrecorded.pop(0)
