"""kill -9 at every point of applying a signal: after a restart, one pyramid and each order once.

The engine is `manage.py run`, started as a user would, with `ENGINE_CRASH_AT` naming the point
where it SIGKILLs itself (trading/engine/crashpoints.py). The restarted engine must finish the job
without repeating any of it: one pyramid for the signal, one order per leg under one client id, the
paper exchange holding exactly those orders, and balances equal to the fills.
"""

from __future__ import annotations

import signal as signals

import pytest

from tests.reliability.world import Install, Server
from tests.serving import wait_for

pytestmark = pytest.mark.e2e

LEGS = 5  # the default ladder: DCA0..DCA4


def settled(install: Install) -> bool:
    """The signal is processed and every order of its ladder reached the exchange."""
    pending = install.scalar("SELECT count(*) FROM trading_signal WHERE status = 'received'")
    unsent = install.scalar("SELECT count(*) FROM trading_order WHERE state IN ('queued', 'submitting')")
    orders = install.scalar("SELECT count(*) FROM trading_order") or 0
    return pending == 0 and unsent == 0 and orders >= LEGS


@pytest.mark.parametrize(
    "crash_at",
    [
        "signal_applied",  # inside the signal's transaction: nothing of it may survive
        "signal_committed",  # outcome committed, no order sent yet
        "order_sent",  # the exchange took DCA0, its answer was never stored
        "order_sent:3",  # mid-ladder: two legs confirmed, the third sent but unrecorded
    ],
)
def test_a_signal_killed_mid_application_opens_one_pyramid_and_sends_each_order_once(install, crash_at):
    doomed = Server(install, ENGINE_CRASH_AT=crash_at)
    assert doomed.webhook(entry_price="43000", order_size="500") == 202
    wait_for(lambda: doomed.proc.poll() is not None, timeout=60, what=f"the engine to die at {crash_at}")
    assert doomed.proc.returncode == -signals.SIGKILL, install.tail()

    survivor = Server(install)
    try:
        wait_for(lambda: settled(install), timeout=60, what="the restarted engine to finish the signal")
    finally:
        survivor.stop()

    assert install.query("SELECT signal_id, count(*) FROM trading_pyramid GROUP BY signal_id") == [(1, 1)]
    ours = sorted(row[0] for row in install.query("SELECT client_order_id FROM trading_order"))
    assert len(ours) == LEGS and len(set(ours)) == LEGS
    theirs = sorted(row[0] for row in install.query("SELECT client_order_id FROM exchanges_paperorder"))
    assert theirs == ours, "the paper exchange must hold exactly the engine's orders, each once"
    report = install.invariants()
    assert report["ok"], report["problems"]
