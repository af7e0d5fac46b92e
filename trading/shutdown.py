"""Stopping `run` and `runengine` on Ctrl-C or SIGTERM, always within `STOP_BOUND_SEC`.

The first signal asks for a clean stop (each command says what that is: the web drains, the engine
finishes its step in progress) and arms a watchdog: if the process is still alive `WATCHDOG_SEC`
later, faulthandler prints every thread's stack — what overran — and ends it with status 1. Ending
it hard is safe: the engine commits each step and is built to survive kill -9. The first signal also
gives SIGINT and SIGTERM back their default action, so a second one ends the process at once,
whatever it is doing, without needing the interpreter.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

log = logging.getLogger(__name__)

STOP_BOUND_SEC = 5.0
# Inside the bound, leaving a loaded machine time to deliver the signal and to tear the process down.
WATCHDOG_SEC = 4.0
# Windows has SIGBREAK too: Ctrl-Break, or the console window being closed (the desktop app).
SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGBREAK,) if hasattr(signal, "SIGBREAK") else ()))


class Shutdown:
    """One process's stop: `install()` the handlers, wait on `requested`, then stop within `time_left()`."""

    def __init__(self, watchdog_sec: float = WATCHDOG_SEC) -> None:
        self.requested = threading.Event()
        self.watchdog_sec = watchdog_sec
        self.began: float | None = None
        self._callbacks: list[Callable[[], None]] = []

    def install(self) -> None:
        """Catch SIGINT and SIGTERM, also when they were inherited as ignored.

        A background job of a non-interactive shell (`python manage.py run &` in a script or a CI
        step) starts with SIGINT ignored; Twisted then leaves it alone and Ctrl-C did nothing.
        """
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (call_command from a thread: no signals)
        for signum in SIGNALS:
            signal.signal(signum, self._on_signal)

    def on_request(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the signal handler: it must only hand the work on) when a stop is asked for."""
        self._callbacks.append(callback)
        if self.requested.is_set():
            callback()

    def request(self, reason: str) -> None:
        """Begin stopping: arm the watchdog, then run the callbacks. Later calls do nothing."""
        if self.requested.is_set():
            return
        self.began = time.monotonic()
        # fd 2 itself (the log's destination), whatever sys.stderr has been replaced with.
        faulthandler.dump_traceback_later(self.watchdog_sec, exit=True, file=sys.__stderr__)
        self.requested.set()
        log.warning("%s: stopping (at most %.0f s)", reason, STOP_BOUND_SEC)
        for callback in list(self._callbacks):
            callback()

    def time_left(self, margin: float = 0.5) -> float:
        """Seconds a clean stop may still take before the watchdog ends the process (minus `margin`)."""
        if self.began is None:
            return self.watchdog_sec - margin
        return max(0.0, self.began + self.watchdog_sec - margin - time.monotonic())

    def elapsed(self) -> float:
        return 0.0 if self.began is None else time.monotonic() - self.began

    def _on_signal(self, signum: int, frame: object) -> None:
        for other in SIGNALS:
            signal.signal(other, signal.SIG_DFL)  # the next one ends the process at once
        self.request(f"{signal.Signals(signum).name} received (again to exit at once)")


def exit_now(code: int) -> NoReturn:
    """End the process now: flush the logs, then skip the interpreter's teardown.

    After a clean stop nothing is left to do, and that teardown took seconds on a loaded machine: it
    joins every worker thread (daphne abandons the threads of requests it cut off, waiting for the
    stopped web loop forever) and garbage-collects a heap ccxt makes large.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
