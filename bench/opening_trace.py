"""Where a single entry's first order waits: the statements of one woken tick that opens a group.

Each entry arrives on its own (a webhook to a `manage.py run --no-engine` on 127.0.0.1), on a
market new to the engine, with the pool and paper balance large enough for all; then this process
runs one engine tick (`Engine.tick()`, as a woken `runengine` would) and records every SQL
statement it sends: when it started (ms after the tick began), how long it took, and the function
of ours that sent it. The report gives, over all entries, the tick's wall and CPU time and how long
until the entry's DCA0 was booked (the first `UPDATE trading_order SET filled_qty ...`), and with
`--statements` the median tick's statements in order.

    .venv/bin/python bench/opening_trace.py                      # SQLite
    .venv/bin/python bench/opening_trace.py --postgres postgres://postgres@127.0.0.1:5432/postgres --statements
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
SETTINGS_DIR = None if "ENGINE_DATA_DIR" in os.environ else tempfile.mkdtemp(prefix="tv-trace-settings-")
if SETTINGS_DIR:
    os.environ["ENGINE_DATA_DIR"] = SETTINGS_DIR

from _harness import load_average, percentile  # noqa: E402
from drain_rate import ROOM_FOR_ALL  # noqa: E402
from signal_to_order import pick_markets  # noqa: E402

from tests.reliability.world import Install, Server, post_webhook  # noqa: E402

DCA0_BOOKED = 'UPDATE "trading_order" SET "filled_qty"'


def sender() -> str:
    """The innermost function of this project (not Django's, not the compiled-statement helpers)."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename
        if path.startswith(str(ROOT)) and ".venv" not in path and "compiled.py" not in path:
            if not path.endswith("opening_trace.py"):
                return f"{Path(path).stem}.{frame.name}"
    return "?"


def trace(install: Install, web: Server, entries: int, with_senders: bool) -> list[dict]:
    os.environ.update(
        ENGINE_DATA_DIR=str(install.data_dir), ENGINE_WEBHOOK_SECRET=install.env()["ENGINE_WEBHOOK_SECRET"]
    )
    if install.database_url:
        os.environ["DATABASE_URL"] = install.database_url
    import django

    django.setup()
    from django.db import connection

    from trading import config_service
    from trading.engine.loop import Engine

    config_service.update(ROOM_FOR_ALL, source="opening_trace.py")
    engine = Engine(use_lock=False)
    engine.start()
    ticks = []
    for n, market in enumerate(pick_markets(entries)):
        fields = {"symbol": market.exchange_symbol, "trade_id": f"trace-{n}"}
        if (
            post_webhook(web.base, entry_price=format(market.entry_price, "f"), order_size="40", **fields)
            != 202
        ):
            raise SystemExit(f"webhook {n} was refused")
        statements = []

        def record(execute, sql, params, many, context, statements=statements):
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((began, time.perf_counter() - began, sql, sender() if with_senders else ""))

        began, cpu = time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(record):
            report = engine.tick()
        wall, cpu = time.perf_counter() - began, time.thread_time() - cpu
        if report.signals != 1:
            raise SystemExit(f"tick {n} applied {report.signals} signals, not 1")
        booked = next(i for i, row in enumerate(statements) if row[2].startswith(DCA0_BOOKED))
        ticks.append(
            {
                "wall": wall * 1000,
                "cpu": cpu * 1000,
                "booked_ms": (statements[booked][0] - began) * 1000,
                "booked_after": booked,
                "statements": [
                    ((at - began) * 1000, took * 1000, sql, who) for at, took, sql, who in statements
                ],
            }
        )
    connection.close()
    return ticks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=40, help="entries, each in a tick of its own")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a throw-away database is created on it")
    parser.add_argument("--statements", action="store_true", help="list the median tick's statements")
    args = parser.parse_args(argv)
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    load_before = load_average()
    with contextlib.ExitStack() as cleanup:  # undone in reverse: the server, the install, the dirs
        if SETTINGS_DIR:
            cleanup.callback(shutil.rmtree, SETTINGS_DIR, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix="tv-trace-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        install = Install.create(tmp)
        cleanup.callback(install.destroy)
        web = Server(install, "--no-engine")
        cleanup.callback(web.stop)
        ticks = trace(install, web, args.entries, args.statements)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"one opening entry per tick, {database}, {args.entries} entries, load {load_before} → {load_average()}"
    )
    for key, label in (
        ("booked_ms", "DCA0 booked, ms into the tick"),
        ("wall", "tick wall ms"),
        ("cpu", "tick CPU ms"),
    ):
        values = [tick[key] for tick in ticks]
        print(f"  {label}: p50 {percentile(values, 50):.1f}, min {min(values):.1f}")
    print(
        f"  statements before the DCA0 is booked: {sorted(t['booked_after'] for t in ticks)[len(ticks) // 2]}"
    )
    print(f"  statements per tick: {sorted(len(t['statements']) for t in ticks)[len(ticks) // 2]}")
    if args.statements:
        median = sorted(ticks, key=lambda t: t["booked_ms"])[len(ticks) // 2]
        for at, took, sql, who in median["statements"]:
            print(f"  {at:7.2f} {took:5.2f}  {sql[:60]:<60} {who}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
