"""Named crash points for the reliability tests and the soak script (inert unless asked for).

`ENGINE_CRASH_AT=order_sent` makes the engine SIGKILL itself the first time it passes that point;
`order_sent:3` the third time. A real SIGKILL, not an exception: nothing gets to clean up, exactly
as when the machine loses power, so the test sees what a restart really has to recover from.

The points, in the order one entry signal passes them:
- `signal_applied`: group, pyramid, legs and QUEUED orders written, the transaction not committed;
- `signal_committed`: the signal's outcome committed, its orders not sent;
- `order_sent`: the exchange accepted an order, its answer not yet stored;
- `promotion_applied`: a queued entry's group opened, the transaction taking it out of the queue
  not committed.
"""

from __future__ import annotations

import os
import signal

CRASH_AT_ENV = "ENGINE_CRASH_AT"
# Read once per process. `manage.py run` arms only the first engine it starts: the one it starts
# after that crash runs without it, and has to recover what the first left behind.
_WANTED = os.environ.get(CRASH_AT_ENV, "")
_passes: dict[str, int] = {}


def _target() -> tuple[str, int]:
    name, _, nth = _WANTED.partition(":")
    return name, int(nth) if nth.isdigit() else 1


def reached(name: str) -> None:
    """Die here if this run was started to crash at `name` (and this is the wanted pass)."""
    if not _WANTED:
        return
    wanted, nth = _target()
    if name != wanted:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
