"""A 3 s database blip drops the engine's advisory lock: it must stop trading, never trade twice.

Engine A reaches PostgreSQL through a TCP proxy; the proxy is cut for 3 s (every connection reset,
new ones refused), which ends A's session and releases its advisory lock on the server. Engine B
starts during the blip and takes the lock. When the network is back, A must find out it no longer
holds the lock, stop trading with a Critical event, and leave every signal to B; once B stops, A
takes the lock back and resumes.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.reliability.proxy import CuttableProxy
from tests.reliability.world import Install, Server, postgres_url
from tests.serving import stop, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        postgres_url() is None,
        reason="an advisory lock is PostgreSQL's (SQLite's lock file: tests/integration/test_engine_fencing.py)",
    ),
]

MARKETS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "LTCUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT"]
PRICES = {
    "BTCUSDT": 43000,
    "ETHUSDT": 2300,
    "SOLUSDT": 60,
    "LTCUSDT": 70,
    "BNBUSDT": 230,
    "XRPUSDT": 0.6,
    "ADAUSDT": 0.4,
    "DOGEUSDT": 0.08,
}


def events_like(install: Install, prefix: str) -> list[str]:
    return [
        row[0]
        for row in install.query("SELECT message FROM trading_event WHERE message LIKE ?", (prefix + "%",))
    ]


def test_an_engine_that_lost_its_lock_in_a_blip_stops_trading_and_no_signal_is_applied_twice(install):
    parts = urlsplit(install.database_url)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    through_proxy = urlunsplit(
        parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}")
    )
    web = Server(install, "--no-engine")
    first = install.start("runengine", DATABASE_URL=through_proxy)
    second = None
    try:
        wait_for(lambda: events_like(install, "engine started"), timeout=90, what="engine A to start")
        assert web.webhook(symbol="BTCUSDT", entry_price="43000", order_size="100", trade_id="before") == 202
        wait_for(lambda: install.scalar("SELECT count(*) FROM trading_pyramid") == 1, what="A to trade")

        proxy.cut()  # the blip: A's connections reset, its session and advisory lock end
        cut_at = time.monotonic()
        second = install.start("runengine", "--no-migrate")
        wait_for(
            lambda: len(events_like(install, "engine started")) == 2, timeout=90, what="engine B to start"
        )
        time.sleep(max(0.0, cut_at + 3.0 - time.monotonic()))  # the outage lasts at least 3 s
        proxy.open()

        for n in range(40):
            symbol = MARKETS[n % len(MARKETS)]
            price = str(PRICES[symbol] * (1 - n / 1000))
            status = web.webhook(symbol=symbol, entry_price=price, order_size="60", trade_id=f"s{n}")
            assert status == 202
        wait_for(
            lambda: install.scalar("SELECT count(*) FROM trading_signal WHERE status = 'received'") == 0,
            timeout=90,
            what="every signal to be applied",
        )
        wait_for(lambda: events_like(install, "engine stopped trading"), timeout=30, what="A to stop trading")
        assert first.poll() is None, "A waits to take the lock back; it does not exit"

        doubled = install.query(
            "SELECT signal_id FROM trading_pyramid GROUP BY signal_id HAVING count(*) > 1"
        )
        assert doubled == []
        epochs = {row[0] for row in install.query("SELECT DISTINCT lease_epoch FROM trading_order")}
        b_epoch = install.scalar("SELECT epoch FROM trading_enginelease")
        assert epochs <= {1, b_epoch}, "after the blip only B's lease may write orders"

        stop(second)
        wait_for(lambda: events_like(install, "engine resumed trading"), timeout=60, what="A to take over")
        assert web.webhook(symbol="BTCUSDT", entry_price="42000", order_size="60", trade_id="after") == 202
        wait_for(
            lambda: install.scalar("SELECT count(*) FROM trading_signal WHERE status = 'received'") == 0,
            what="A to trade again",
        )
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)
        web.stop()
        proxy.close()
    report = install.invariants()
    assert report["ok"], report["problems"]
