"""kill -9 at every point of applying a signal: after a restart, one pyramid and each order once.

The engine is the one `manage.py run` starts, as a user would, with `ENGINE_CRASH_AT` naming the
point where it SIGKILLs itself (trading/engine/crashpoints.py). `run` then starts a new engine
process (without the crash point), and that engine must finish the job without repeating any of it:
one pyramid for the signal, one order per leg under one client id, the paper exchange holding
exactly those orders, and balances equal to the fills.
"""

from __future__ import annotations

import json

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
    server = Server(install, ENGINE_CRASH_AT=crash_at)
    try:
        assert server.webhook(entry_price="43000", order_size="500") == 202
        wait_for(server.engine_was_killed, timeout=60, what=f"the engine to die at {crash_at}")
        wait_for(lambda: settled(install), timeout=90, what="the restarted engine to finish the signal")
    finally:
        server.stop()

    assert install.query("SELECT signal_id, count(*) FROM trading_pyramid GROUP BY signal_id") == [(1, 1)]
    ours = sorted(row[0] for row in install.query("SELECT client_order_id FROM trading_order"))
    assert len(ours) == LEGS and len(set(ours)) == LEGS
    theirs = sorted(row[0] for row in install.query("SELECT client_order_id FROM exchanges_paperorder"))
    assert theirs == ours, "the paper exchange must hold exactly the engine's orders, each once"
    report = install.invariants()
    assert report["ok"], report["problems"]


def test_a_promotion_killed_mid_way_neither_loses_the_queued_entry_nor_leaves_it_marked_queued(install):
    (install.data_dir / "config.json").write_text(json.dumps({"execution_pool": {"max_open_groups": 1}}))
    first = Server(install)
    try:
        assert first.webhook(symbol="BTCUSDT", entry_price="43000", order_size="100", trade_id="btc") == 202
        assert first.webhook(symbol="ETHUSDT", entry_price="2300", order_size="100", trade_id="eth") == 202
        wait_for(
            lambda: signal_status(install, "eth") == "queued", timeout=60, what="ETH to wait in the queue"
        )
    finally:
        first.stop()

    server = Server(install, ENGINE_CRASH_AT="promotion_applied")
    try:
        assert server.webhook(intent="exit", side="sell", symbol="BTCUSDT", trade_id="btc-exit") == 202
        wait_for(server.engine_was_killed, timeout=60, what="the engine to die mid-promotion")
        wait_for(lambda: signal_status(install, "eth") == "applied", timeout=90, what="ETH to be promoted")
        wait_for(lambda: settled(install), timeout=60, what="its orders to go out")
    finally:
        server.stop()
    reason = install.scalar("SELECT reason FROM trading_signal WHERE trade_id = 'eth'")
    assert reason.startswith("promoted from the queue: opened group #")
    assert install.scalar("SELECT count(*) FROM trading_queueentry") == 0
    eth = install.scalar("SELECT id FROM trading_signal WHERE trade_id = 'eth'")
    assert install.scalar("SELECT count(*) FROM trading_pyramid WHERE signal_id = ?", (eth,)) == 1
    report = install.invariants()
    assert report["ok"], report["problems"]


def signal_status(install: Install, trade_id: str) -> str | None:
    return install.scalar("SELECT status FROM trading_signal WHERE trade_id = ?", (trade_id,))
