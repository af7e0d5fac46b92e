"""Running the engine's tick as soon as there is work, instead of at its next poll.

`Waker.wake()` (from the link to `run`, or from a PostgreSQL NOTIFY) makes the scheduler run the
tick job now. A wake-up that arrives while a tick runs is not lost: that tick runs once more when
it ends (the new signal may have been committed after it read the inbox), and however many came
meanwhile, once: that run takes everything waiting. A tick that reports more work waiting (a full
batch of signals: a backlog) also runs again at once instead of idling until the next poll. The
poll interval stays as the fallback for anything that wakes nobody (a lost message, a row written
by hand).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from ..wake import CHANNEL

log = logging.getLogger(__name__)

# A tick woken while it ran runs again at once, but not forever: the other jobs (heartbeat, order
# sync) share the one worker thread, and a steady stream of webhooks must not starve them.
MAX_RERUNS = 3
LISTEN_RETRY_SEC = (1.0, 30.0)


class Waker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._nudge: Callable[[], None] | None = None
        self.wakeups = 0  # for the benchmarks and tests: how many wake-ups arrived

    def attach(self, nudge: Callable[[], None]) -> None:
        """`nudge` makes the scheduler run the tick job now."""
        self._nudge = nudge

    def wake(self) -> None:
        with self._lock:
            self.wakeups += 1
            self._pending = True
            if self._running:
                return  # the running tick sees `_pending` when it ends
        if self._nudge is not None:
            try:
                self._nudge()
            except Exception:  # noqa: BLE001 - e.g. the scheduler is shutting down; the poll remains
                log.debug("engine: wake-up not applied", exc_info=True)

    def run(self, tick: Callable[[], Any]) -> None:
        """Run `tick`, again while wake-ups came in during the last run or it returned True (more
        work waiting), at most MAX_RERUNS times more."""
        for _ in range(MAX_RERUNS + 1):
            with self._lock:
                self._running = True
                self._pending = False
            more = False
            try:
                more = tick() is True
            finally:
                with self._lock:
                    self._running = False
                    again = self._pending or more
            if not again:
                return


def listen_postgres(waker: Waker, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, wake on `NOTIFY engine_wake` (sent by triggers on the inbox and command tables)
    from a connection of its own; None on other databases."""
    if connections["default"].vendor != "postgresql":
        return None
    thread = threading.Thread(target=_listen, args=(waker, stop), name="engine-listen", daemon=True)
    thread.start()
    return thread


def _listen(waker: Waker, stop: threading.Event) -> None:
    import psycopg

    params = _connection_params()
    pause = LISTEN_RETRY_SEC[0]
    while not stop.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                pause = LISTEN_RETRY_SEC[0]
                waker.wake()  # anything committed while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        waker.wake()
        except Exception as exc:  # noqa: BLE001 - the poll goes on; listening resumes after a pause
            log.warning("engine: not listening for wake-ups (%s); retrying in %.0f s", exc, pause)
            if stop.wait(pause):
                return
            pause = min(pause * 2, LISTEN_RETRY_SEC[1])


def _connection_params() -> dict[str, Any]:
    """Django's own connection parameters, minus what only Django's wrapper understands."""
    params = dict(connections["default"].get_connection_params())
    for key in ("cursor_factory", "context", "prepare_threshold", "server_side_binding", "pool"):
        params.pop(key, None)
    return params
