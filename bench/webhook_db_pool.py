"""The production web process (daphne + PostgreSQL) under concurrent webhooks: 5xx and connections used.

Creates a throw-away database on the given PostgreSQL server, migrates it, starts `daphne
engine_site.asgi:application` on a free loopback port, then sends WEBHOOKS webhooks from CLIENTS
threads at once (distinct payloads, or with --identical the same payload, which must be accepted
exactly once) while sampling the server's backends in pg_stat_activity. Prints the answers by
status, the peak number of the server's connections and the wall time; drops the database after.

    .venv/bin/python bench/webhook_db_pool.py postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/webhook_db_pool.py URL --clients 200 --webhooks 200 --identical
    DB_POOL_MAX_SIZE=20 .venv/bin/python bench/webhook_db_pool.py URL      # the pool settings pass through

Use a server you may fill up: without a pool this can take every connection it has.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "tv-engine-bench-web"
SECRET = "bench-webhook-secret"


def post(url: str, payload: dict) -> str:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except OSError as exc:
        return f"error {type(exc).__name__}"


def payload(price: int) -> dict:
    return {
        "secret": SECRET,
        "tv": {"exchange": "BINANCE", "symbol": "BTCUSDT", "timeframe": "15", "entry_price": str(price)},
        "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "server_url", help="postgres://user@host:port/any-db (a database is created beside it)"
    )
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--webhooks", type=int, default=300)
    parser.add_argument("--identical", action="store_true", help="send one payload WEBHOOKS times")
    args = parser.parse_args()

    parts = urlsplit(args.server_url)
    dbname = f"tvengine_bench_{os.getpid()}"
    url = urlunsplit(parts._replace(path=f"/{dbname}"))
    admin = psycopg.connect(args.server_url, autocommit=True)
    admin.execute(f"CREATE DATABASE {dbname}")
    tmp = Path(tempfile.mkdtemp(prefix="tv-pool-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=url,
        ENGINE_DATA_DIR=str(tmp / "data"),
        XDG_DATA_HOME=str(tmp),
        XDG_CONFIG_HOME=str(tmp),
        ENGINE_WEBHOOK_SECRET=SECRET,
        PGAPPNAME=APP_NAME,
    )
    proc = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        port = _free_port()
        log = open(tmp / "daphne.log", "w")  # noqa: SIM115 - closed with the process
        # A deep accept queue, so a burst is not cut short by daphne's default backlog of 50.
        endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog=1024"
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-e", endpoint, "engine_site.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        webhook = f"http://127.0.0.1:{port}/webhooks/tradingview"
        deadline = time.monotonic() + 60
        # One webhook first: it also creates the stored configuration (not a concurrent first start).
        while post(webhook, payload(1)) != "202":
            if time.monotonic() > deadline:
                raise SystemExit(f"daphne did not accept a webhook; see {tmp / 'daphne.log'}")
            time.sleep(0.2)

        peak, samples, done = [0], [0], threading.Event()

        def sample() -> None:
            with psycopg.connect(args.server_url, autocommit=True) as conn:
                while not done.is_set():
                    (count,) = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                        (dbname, APP_NAME),
                    ).fetchone()
                    peak[0], samples[0] = max(peak[0], count), samples[0] + 1
                    done.wait(0.01)

        results: Counter = Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(args.clients)

        def client(offset: int) -> None:
            barrier.wait()
            for i in range(offset, args.webhooks, args.clients):
                status = post(webhook, payload(43000 if args.identical else 43000 + i))
                with lock:
                    results[status] += 1

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        pool = {k: v for k, v in env.items() if k.startswith("DB_POOL_")}
        fivexx = sum(n for status, n in results.items() if status.startswith("5"))
        kind = "identical webhooks" if args.identical else "webhooks"
        print(f"{args.clients} clients x {args.webhooks} {kind}, {pool or 'pool defaults'}")
        print(f"answers: {dict(sorted(results.items()))}; 5xx: {fivexx}")
        print(f"peak server connections: {peak[0]} ({samples[0]} samples); wall {wall:.1f} s")
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT status, count(*) FROM trading_signal GROUP BY status").fetchall()
        print(f"signals stored (incl. the warm-up): {dict(rows)}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        admin.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
