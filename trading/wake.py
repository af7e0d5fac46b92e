"""Waking the engine when the web writes something for it, instead of letting it wait for its poll.

The web process calls `notify()` after a new signal or operator command is committed (the receivers
in trading/apps.py do it for every Signal and Command row created). Where the wake-up goes depends on
the layout:

- `manage.py run` starts the engine as a child process and links the two (trading/engine_process.py):
  `notify()` sends one small message on that link.
- On PostgreSQL a trigger on the inbox and command tables also NOTIFYs the channel `engine_wake` at
  commit (migration 0005), so an engine in another process or on another host (`runengine` beside
  daphne workers) is woken without any extra statement in the webhook's transaction.

Either way the poll (`app.engine_poll_interval_ms`) stays as the fallback: a lost wake-up only costs
the latency it would have saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)

# The PostgreSQL NOTIFY channel the triggers use and the engine LISTENs on.
CHANNEL = "engine_wake"

_senders: list[Callable[[], None]] = []


def connect(sender: Callable[[], None]) -> None:
    """Route this process's wake-ups through `sender` (called by `run` once the engine is linked)."""
    _senders.append(sender)


def disconnect(sender: Callable[[], None]) -> None:
    if sender in _senders:
        _senders.remove(sender)


def notify() -> None:
    """Wake the engine now; never raises (a wake-up is an optimisation, the poll is the guarantee)."""
    for send in list(_senders):
        try:
            send()
        except Exception:  # noqa: BLE001 - see the docstring
            log.debug("engine wake-up not delivered", exc_info=True)


def notify_on_commit() -> None:
    """Wake the engine once the current transaction commits (at once outside a transaction)."""
    if _senders:
        transaction.on_commit(notify)
