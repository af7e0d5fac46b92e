"""Counting the runs APScheduler skipped, instead of warning about each one.

At a 100 ms cadence a tick that runs long makes APScheduler skip the next ones ("maximum number of
running instances reached"). That is expected on a loaded machine (the job is coalesced and runs at
its next slot), and hundreds of warnings an hour would bury the ones that matter. The engine counts
the skipped ticks instead and publishes the count with its heartbeat (`GET /api/v1/health`).

No Django and no APScheduler imports: the logging config in settings loads this module before
Django starts.
"""

from __future__ import annotations

import logging
import threading

# The start of the message APScheduler 3 logs, on "apscheduler.scheduler", for each skipped run.
SKIPPED_RUN_MESSAGE = 'Execution of job "%s" skipped: maximum number of running instances reached'


class SkippedRunDemoted(logging.Filter):
    """Demote APScheduler's per-skip warning to DEBUG: the count in health replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(SKIPPED_RUN_MESSAGE)):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        # The logger judged the record at WARNING; judge it again at its new level.
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class SkipCounter:
    """Runs skipped since the engine started. The scheduler's thread and the executor's worker both
    report skips, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count
