"""How fast a restarted engine works through a backlog: signals applied per second.

After a crash (or a long pause) the inbox holds everything that arrived meanwhile. This script
fills it with `--signals` webhooks while no engine runs (`manage.py run --no-engine` takes them),
then starts `manage.py runengine` and measures from its "engine started" event to the moment the
last signal has its outcome. The mix is what a busy strategy sends: entries on `--markets` markets
(pool 10: most wait in the queue, later ones replace them; repeats become pyramids, then "5/5"),
with one exit in ten.

    .venv/bin/python bench/drain_rate.py --signals 1000        # SQLite (the embedded default)
    .venv/bin/python bench/drain_rate.py --postgres postgres://postgres@127.0.0.1:5432/postgres

`--in-process` drains the same backlog in this process instead (`Engine.start()`, then `tick()`
until nothing is received) and counts what it costs: SQL statements and commits. Those counts do
not depend on the machine's load, unlike the rates.

`--openings` (with `--in-process`) makes every signal an entry on a market of its own, with a pool
large enough for all: each one opens a group, places its DCA0 and rests its other legs. That is the
work of a burst of entries (bench/signal_to_order.py), without its web and its timing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
# A data dir for this process's own settings, only if the caller gave none (removed at the end).
SETTINGS_DIR = None if "ENGINE_DATA_DIR" in os.environ else tempfile.mkdtemp(prefix="tv-drain-settings-")
if SETTINGS_DIR:
    os.environ["ENGINE_DATA_DIR"] = SETTINGS_DIR

from _harness import figure, load_average, wakeup_probe  # noqa: E402
from signal_to_order import pick_markets  # noqa: E402

from tests.reliability.world import Install, Server, post_webhook  # noqa: E402
from tests.serving import stop, wait_for  # noqa: E402

TARGET_PER_SEC = 100  # issue 10: 1,000 mixed signals at >= 100 signals/s on both databases


def fill_inbox(server: Server, count: int, markets: int, seed: int, openings: bool = False) -> None:
    rng = random.Random(seed)
    chosen = pick_markets(count if openings else markets)
    for n in range(count):
        market = chosen[n] if openings else rng.choice(chosen)
        fields = {"symbol": market.exchange_symbol, "trade_id": f"drain-{n}"}
        if n % 10 == 9 and not openings:
            status = post_webhook(server.base, intent="exit", side="sell", **fields)
        else:
            price = market.entry_price * Decimal(1000 - rng.randint(0, 20)) / 1000
            status = post_webhook(server.base, entry_price=format(price, "f"), order_size="40", **fields)
        if status != 202:
            raise SystemExit(f"webhook {n} answered {status}")


def _when(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def measure(install: Install, count: int, timeout: float) -> dict:
    engine = install.start("runengine", "--no-migrate")
    started_wall = time.monotonic()
    try:
        wait_for(
            lambda: install.scalar("SELECT count(*) FROM trading_signal WHERE status = 'received'") == 0,
            timeout=timeout,
            what="the backlog to drain",
        )
        wall = time.monotonic() - started_wall
    finally:
        stop(engine)
    started = _when(
        install.scalar("SELECT min(created_at) FROM trading_event WHERE message LIKE ?", ("engine started%",))
    )
    first = _when(install.scalar("SELECT min(processed_at) FROM trading_signal"))
    last = _when(install.scalar("SELECT max(processed_at) FROM trading_signal"))
    outcomes = dict(install.query("SELECT status, count(*) FROM trading_signal GROUP BY status"))
    return {
        "signals": count,
        "process start → drained (s)": round(wall, 2),
        "engine started → drained (s)": round((last - started).total_seconds(), 2),
        "signals/s (engine started → last outcome)": round(
            count / max((last - started).total_seconds(), 1e-9), 1
        ),
        "signals/s (first → last outcome)": round(count / max((last - first).total_seconds(), 1e-9), 1),
        "outcomes": outcomes,
        "orders": install.scalar("SELECT count(*) FROM trading_order"),
    }


def statement_kind(sql: str) -> str:
    """A statement without its conditions and savepoint names: "UPDATE trading_order SET …"."""
    sql = re.sub(r'"s\d+_x\d+"', "", sql)
    return re.split(r"\s+(?:WHERE|VALUES|ORDER BY|LIMIT)\s", sql, maxsplit=1)[0][:110]


def call_site() -> str:
    """The innermost engine/exchange function that issued the statement (for `--sites`)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if ("/trading/" in path or "/exchanges/" in path or "/risk/" in path) and "/models" not in path:
            return f"{Path(path).stem}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


# `--openings`: a pool and a paper balance for every entry (as signal_to_order.py sets them).
ROOM_FOR_ALL = {
    "execution_pool": {"max_open_groups": 1000},
    "exchange": {"paper_starting_balance_usdt": "1000000"},
}


def count_in_process(
    install: Install,
    count: int,
    profile: str | None = None,
    kinds: int = 0,
    sites: bool = False,
    openings: bool = False,
) -> dict:
    """Drain the backlog with an in-process engine, tallying SQL statements and commits."""
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
    from trading.models import Signal

    if openings:
        config_service.update(ROOM_FOR_ALL, source="drain_rate.py --openings")

    tally = {"statements": 0, "commits": 0, "lazy": 0}
    by_kind: Counter[str] = Counter()

    def count_statement(execute, sql, params, many, context):
        tally["statements"] += 1
        if kinds:
            by_kind[statement_kind(sql) + (f"  ← {call_site()}" if sites else "")] += 1
        # PostgreSQL: no fsync wait, set on its own or in the fence's round trip (fencing.fence)
        tally["lazy"] += "SET LOCAL synchronous_commit TO OFF" in sql
        return execute(sql, params, many, context)

    def count_commit(commit=connection.commit):
        tally["commits"] += 1
        commit()

    engine = Engine(use_lock=False)
    started = time.monotonic()
    engine.start()
    drain_started = time.monotonic()
    profiler = cProfile.Profile() if profile else None
    cpu_started = time.process_time()
    with connection.execute_wrapper(count_statement):
        connection.commit = count_commit  # type: ignore[method-assign] - outermost atomic blocks commit here
        try:
            ticks = 0
            if profiler:
                profiler.enable()
            while Signal.objects.filter(status="received").exists():
                engine.tick()
                ticks += 1
        finally:
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
            del connection.commit
    done = time.monotonic()
    cpu = time.process_time() - cpu_started
    for kind, n in by_kind.most_common(kinds):
        print(f"  {n:6d}  {kind}")
    connection.close()
    return {
        "signals": count,
        "start() (s)": round(drain_started - started, 2),
        "ticks": ticks,
        "SQL statements (ticks)": tally["statements"],
        "commits (ticks)": tally["commits"],
        "of which not waiting for the disk (PostgreSQL)": tally["lazy"],
        "statements per signal": round(tally["statements"] / count, 1),
        "CPU s (ticks, this process)": round(cpu, 2),
        "signals/s (start() → drained)": round(count / (done - started), 1),
        "signals/s (ticks only)": round(count / (done - drain_started), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signals", type=int, default=300, help="backlog size (the issue's figure: 1000)")
    parser.add_argument("--markets", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a throw-away database is created on it")
    parser.add_argument(
        "--in-process", action="store_true", help="drain in this process and count SQL statements and commits"
    )
    parser.add_argument(
        "--kinds", type=int, default=0, help="with --in-process: print the N commonest statements"
    )
    parser.add_argument(
        "--sites", action="store_true", help="with --kinds: name the function that issued each"
    )
    parser.add_argument("--profile", help="with --in-process: write cProfile stats of the ticks to this file")
    parser.add_argument(
        "--openings", action="store_true", help="with --in-process: every signal opens a group of its own"
    )
    args = parser.parse_args(argv)
    if args.openings and not args.in_process:
        parser.error("--openings needs --in-process")
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    load_before, probe = load_average(), wakeup_probe(postgres=args.postgres)
    tmp = Path(tempfile.mkdtemp(prefix="tv-drain-"))
    install = Install.create(tmp)
    try:
        web = Server(install, "--no-engine")
        try:
            fill_inbox(web, args.signals, args.markets, args.seed, args.openings)
            if args.in_process:
                web.stop()
                result = count_in_process(
                    install, args.signals, args.profile, args.kinds, args.sites, args.openings
                )
            else:
                result = measure(install, args.signals, args.timeout)
        finally:
            web.stop()
        report = install.invariants()
    finally:
        install.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
        if SETTINGS_DIR:
            shutil.rmtree(SETTINGS_DIR, ignore_errors=True)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"drain rate on {database}, {datetime.now():%Y-%m-%d %H:%M}, load average {load_before} → {load_average()}"
    )
    print(f"  machine before the run: {probe}")
    for key, value in result.items():
        print(f"  {key}: {value}")
    print(f"  invariants: {'ok' if report['ok'] else report['problems']}")
    rate = result.get(
        "signals/s (engine started → last outcome)", result.get("signals/s (start() → drained)")
    )
    mix = "entries on markets of their own" if args.openings else "backlog"
    name = f"drain of a {args.signals}-signal {mix}, engine started → last outcome"
    figure(
        name,
        f"≥ {TARGET_PER_SEC} signals/s",
        f"{rate} signals/s",
        rate >= TARGET_PER_SEC,
        database=database,
        load=load_before,
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
