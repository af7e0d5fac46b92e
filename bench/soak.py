"""Soak: webhooks keep coming while the web and the engine are killed with SIGKILL at random.

The web (`manage.py run --no-engine`) and the engine (`manage.py runengine`) run as two processes
on one database, so each can die on its own. A sender posts `--webhooks` alerts (entries on
`--markets` markets, one exit in eight) at `--rate` per second; while the web is down it retries
(TradingView would not; the count of refused deliveries is reported). A killer SIGKILLs the web or
the engine every `--kill-every` seconds (randomised) and restarts it; every other engine restart
also arms a crash point (`ENGINE_CRASH_AT`, trading/engine/crashpoints.py) so kills land inside the
critical windows, not only between ticks.

At the end the engine drains the inbox and the invariants are checked (`manage.py
check_invariants`): every 202 is in the inbox and processed, no signal opened two pyramids, no
client order id was used twice, every paper order is one of the engine's, balances equal fills,
nothing is stuck in Closing or Submitting.

    .venv/bin/python bench/soak.py --webhooks 500 --kill-every 4
    .venv/bin/python bench/soak.py --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
os.environ.setdefault("ENGINE_DATA_DIR", tempfile.mkdtemp(prefix="tv-soak-settings-"))

from signal_to_order import pick_markets  # noqa: E402

from tests.reliability.world import Install, post_webhook  # noqa: E402
from tests.serving import free_port, stop, wait_for  # noqa: E402

CRASH_POINTS = ["signal_applied", "signal_committed", "order_sent", "order_sent:2", "order_sent:5"]


@dataclass
class Tally:
    sent: int = 0
    accepted: list[int] = field(default_factory=list)  # signal ids answered 202
    duplicates: int = 0
    refused: int = 0  # deliveries that found the web down or answered 5xx (then retried)
    other: dict[int, int] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=lambda: {"web": 0, "engine": 0, "engine at crash point": 0})


class Soak:
    def __init__(self, install: Install, seed: int) -> None:
        self.install = install
        self.rng = random.Random(seed)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web = None
        self.engine = None
        self.lock = threading.Lock()
        self.tally = Tally()
        self.done = threading.Event()

    # ---- processes -----------------------------------------------------------------------

    def start_web(self) -> None:
        self.web = self.install.start("run", "--no-engine", "--port", str(self.port))
        wait_for(self._web_up, timeout=90, what="the web to answer")

    def _web_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def start_engine(self, crash_at: str | None = None) -> None:
        env = {"ENGINE_CRASH_AT": crash_at} if crash_at else {}
        self.engine = self.install.start("runengine", "--no-migrate", **env)

    def killer(self, every: float) -> None:
        while not self.done.wait(self.rng.uniform(every / 2, every * 1.5)):
            with self.lock:
                if self.engine is not None and self.engine.poll() is not None:
                    # It died at its crash point on its own: restart it plainly.
                    self.tally.kills["engine at crash point"] += 1
                    self.start_engine()
                    continue
                victim = self.rng.choice(["web", "engine"])
                proc = self.web if victim == "web" else self.engine
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                self.tally.kills[victim] += 1
                if victim == "web":
                    self.start_web()
                else:
                    self.start_engine(self.rng.choice(CRASH_POINTS) if self.rng.random() < 0.5 else None)

    def final_engine(self) -> None:
        """The drain runs on an engine without a crash point: the last one started may carry one
        and would die at it after the killer stopped, leaving nobody to restart it. Killing it is
        one more crash the run must survive."""
        with self.lock:
            if self.engine.poll() is None:
                self.engine.send_signal(signal.SIGKILL)
                self.engine.wait()
                self.tally.kills["engine"] += 1
            self.start_engine()

    def drained(self) -> bool:
        if self.engine.poll() is not None:  # never expected; restart rather than wait it out
            self.tally.kills["engine died while draining"] += 1
            self.start_engine()
        received = self.install.scalar("SELECT count(*) FROM trading_signal WHERE status = 'received'")
        unsent = self.install.scalar(
            "SELECT count(*) FROM trading_order WHERE state IN ('queued', 'submitting')"
        )
        return received == 0 and unsent == 0

    # ---- traffic -------------------------------------------------------------------------

    def sender(self, count: int, rate: float, markets: int) -> None:
        chosen = pick_markets(markets)
        start = time.monotonic()
        for n in range(count):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            market = self.rng.choice(chosen)
            fields = {"symbol": market.exchange_symbol, "trade_id": f"soak-{n}"}
            if n % 8 == 7:
                fields.update(intent="exit", side="sell")
            else:
                price = market.entry_price * Decimal(1000 - self.rng.randint(0, 30)) / 1000
                fields.update(entry_price=format(price, "f"), order_size="20")
            self._deliver(fields)

    def _deliver(self, fields: dict) -> None:
        """Post until the engine's web answers (a real sender might give up; we count refusals)."""
        self.tally.sent += 1
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, body = post_webhook(self.base, with_body=True, **fields)
            if status == 202:
                self.tally.accepted.append(int(body["signal_id"]))
                return
            if status == 200 and body.get("status") == "duplicate":
                self.tally.duplicates += 1
                return
            if status and status < 500:
                self.tally.other[status] = self.tally.other.get(status, 0) + 1
                return
            self.tally.refused += 1
            time.sleep(0.2)
        raise SystemExit(f"webhook {fields['trade_id']} never got an answer")


def report(soak: Soak, result: dict, seconds: float) -> None:
    t = soak.tally
    inbox = {row[0]: row[1] for row in soak.install.query("SELECT id, status FROM trading_signal")}
    lost = [sid for sid in t.accepted if sid not in inbox]
    unprocessed = [sid for sid in t.accepted if inbox.get(sid) == "received"]
    doubled = soak.install.query(
        "SELECT signal_id FROM trading_pyramid GROUP BY signal_id HAVING count(*) > 1"
    )
    print(f"soak: {seconds:.0f} s, database {'PostgreSQL' if soak.install.database_url else 'SQLite'}")
    print(
        f"  webhooks sent: {t.sent}; answered 202: {len(t.accepted)}; duplicate: {t.duplicates}; other: {t.other}"
    )
    print(f"  deliveries refused while the web was down (then retried): {t.refused}")
    print(f"  kills: {t.kills}")
    print(f"  lost (202 but not in the inbox): {len(lost)}; never processed: {len(unprocessed)}")
    print(f"  doubled (signals with two pyramids): {len(doubled)}")
    print(f"  orders: {soak.install.scalar('SELECT count(*) FROM trading_order')}")
    print(f"  invariants: {'ok' if result['ok'] else result['problems']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks per second")
    parser.add_argument("--markets", type=int, default=12)
    parser.add_argument("--kill-every", type=float, default=4.0, help="mean seconds between kills")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a throw-away database is created on it")
    args = parser.parse_args(argv)
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    install = Install.create(Path(tempfile.mkdtemp(prefix="tv-soak-")))
    soak = Soak(install, args.seed)
    began = time.monotonic()
    try:
        soak.start_web()
        soak.start_engine()
        killer = threading.Thread(target=soak.killer, args=(args.kill_every,), daemon=True)
        killer.start()
        soak.sender(args.webhooks, args.rate, args.markets)
        soak.done.set()
        killer.join()
        soak.final_engine()
        wait_for(
            lambda: soak.drained(),
            timeout=300,
            what="the engine to drain the inbox and send every order",
        )
        stop(soak.engine)
        stop(soak.web)
        result = install.invariants()
        report(soak, result, time.monotonic() - began)
    finally:
        for proc in (soak.engine, soak.web):
            if proc is not None and proc.poll() is None:
                proc.kill()
        install.destroy()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
