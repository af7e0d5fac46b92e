"""Analytics API time with 10,000 closed trades and 30 days of 1-minute equity points, in-process.

Seeds a temp data dir (SQLite, or PostgreSQL with `--database-url`) with 10,000 closed trades over
30 days (20 pairs × 4 timeframes, long and short, every close reason) and one paper account's equity
snapshots every minute for 30 days (43,200 points), compacted as the engine's hourly job leaves them
(one a minute for 7 days, one an hour before: 10,6xx points; `--uncompacted` keeps all 43,200 — a
table the engine never leaves behind, the worst case), then times through
Django's test client (middleware, session, view, serialisation) the calls the /analytics/ page makes:
the summary, the equity series, the first page of trades, and the page itself when it exists.
Target: < 300 ms each (issue 12). `--profile` prints the cProfile top of the summary and the equity.

    .venv/bin/python bench/analytics_api.py
    .venv/bin/python bench/analytics_api.py --profile
    .venv/bin/python bench/analytics_api.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import figure, load_average, markdown_table  # noqa: E402

TARGET_MS = 300
DAYS = 30
PAIRS = [f"C{n:02d}/USDT" for n in range(20)]
TIMEFRAMES = ("5m", "15m", "1h", "4h")
REASONS = ("tp_leg", "tp_leg", "tp_leg", "tp_group", "exit", "risk", "reduce", "manual")


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Median and max wall time, and median CPU time of this process (ms). On a machine others
    load, the CPU time is the figure that compares runs (PostgreSQL's own server time is in the
    wall time only)."""
    fn()  # warm caches (templates, config, query plans) like a running server
    walls, cpus = [], []
    for _ in range(repeats):
        began, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, max(walls) * 1000, statistics.median(cpus) * 1000


def _seed(trades: int, seed: int, now: datetime) -> dict[str, int]:
    from exchanges.registry import ensure_paper_account
    from trading.models import EquitySnapshot, GroupStatus, PositionGroup, Trade

    rng = random.Random(seed)
    account = ensure_paper_account()
    start = now - timedelta(days=DAYS)
    groups = PositionGroup.objects.bulk_create(
        PositionGroup(
            account=account,
            symbol=PAIRS[n % len(PAIRS)],
            timeframe=TIMEFRAMES[(n // len(PAIRS)) % len(TIMEFRAMES)],
            side="long" if n % 3 else "short",
            status=GroupStatus.CLOSED,
            tp_mode="leg",
            aggregate_tp_percent=Decimal(1),
            opened_at=start + timedelta(minutes=n),
            closed_at=now,
        )
        for n in range(trades // 20)
    )
    rows = []
    for n in range(trades):
        group = groups[n % len(groups)]
        entry = Decimal(rng.choice(("0.0512", "1.234", "14.52", "243.1", "2301.5", "43012.25")))
        change = Decimal(rng.randint(-300, 400)) / 10000
        qty = (Decimal(200) / entry).quantize(Decimal("0.00001"))
        exit_price = (entry * (1 + change)).quantize(Decimal("0.0001"))
        fees = (qty * (entry + exit_price) / 1000).quantize(Decimal("0.00000001"))
        sign = 1 if group.side == "long" else -1
        rows.append(
            Trade(
                group=group,
                account=account,
                symbol=group.symbol,
                timeframe=group.timeframe,
                side=group.side,
                reason=rng.choice(REASONS),
                qty=qty,
                entry_price=entry,
                exit_price=exit_price,
                realized_pnl=sign * qty * (exit_price - entry) - fees,
                fees=fees,
                closed_at=start + timedelta(seconds=rng.randint(0, DAYS * 86400 - 1)),
            )
        )
    Trade.objects.bulk_create(rows, batch_size=2000)
    realised = Decimal(0)
    points = []
    for minute in range(DAYS * 24 * 60):
        realised += Decimal(rng.randint(-150, 160)) / 100
        unrealised = Decimal(rng.randint(-2000, 2000)) / 100
        points.append(
            EquitySnapshot(
                account=account,
                taken_at=start + timedelta(minutes=minute),
                realised=realised,
                total=realised + unrealised,
            )
        )
    EquitySnapshot.objects.bulk_create(points, batch_size=5000)
    return {"trades": len(rows), "points": len(points)}


def _compact(now: datetime) -> int:
    """What the engine's hourly equity job does to the table: the same core rule
    (core.equity.redundant_points, trading/engine/equity.py), without an engine lease."""
    from trading.core.equity import redundant_points
    from trading.engine.equity import FINE_FOR
    from trading.models import EquitySnapshot

    points = list(EquitySnapshot.objects.order_by("taken_at", "id").values_list("id", "taken_at"))
    doomed = redundant_points(points, now, FINE_FOR)
    for start in range(0, len(doomed), 500):
        EquitySnapshot.objects.filter(id__in=doomed[start : start + 500]).delete()
    return len(doomed)


def _use_baseline() -> None:
    """The read path as it was before issue 12's speed work, to compare in the same conditions:
    timestamps through the driver's loader, the realised column always read, full sorts for the
    best and worst trades. (Bench-only: the metrics are the same, only slower.)"""
    from collections import defaultdict

    from django.db.models import Q

    from trading.core import analytics as metrics
    from trading.core.equity import EquityPoint, merge_accounts
    from trading.models import EquitySnapshot
    from trading.reads import analytics as reads

    fields = ("id", "closed_at", "account__label", "symbol", "timeframe", "side", "reason", "qty",
              "entry_price", "exit_price", "realized_pnl", "fees")  # fmt: skip

    def trade_records(rows):
        return [metrics.TradeRecord(*v) for v in rows.order_by("closed_at", "id").values_list(*fields)]

    def equity_points(selection, *, realised=True):
        rows = EquitySnapshot.objects.filter(Q(account=selection.account) if selection.account else Q())
        if selection.start is not None:
            rows = rows.filter(taken_at__gte=selection.start)
        if selection.end is not None:
            rows = rows.filter(taken_at__lt=selection.end)
        per_account = defaultdict(list)
        columns = ("account_id", "taken_at", "realised", "total")
        for a, at, r, t in rows.order_by("taken_at", "id").values_list(*columns):
            per_account[a].append(EquityPoint(at, r, t))
        return merge_accounts(per_account[a] for a in sorted(per_account))

    def best_and_worst(trades, n=10):
        return sorted(trades, key=lambda t: (-t.pnl, t.id))[:n], sorted(trades, key=lambda t: (t.pnl, t.id))[
            :n
        ]

    reads.trade_records, reads.equity_points, metrics.best_and_worst = (
        trade_records,
        equity_points,
        best_and_worst,
    )


def _profile(client, url: str, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    client.get(url)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\n## cProfile {url} (cumulative, top {top})\n")
    print(out.getvalue())


def _setup_env(tmp: Path, database_url: str | None) -> None:
    os.environ["ENGINE_DATA_DIR"] = str(tmp / "data")
    os.environ["XDG_DATA_HOME"] = os.environ["XDG_CONFIG_HOME"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)


def run(  # noqa: PLR0913 - the command line's options
    trades: int,
    repeats: int,
    seed: int,
    database_url: str | None,
    profile: bool,
    uncompacted: bool,
    baseline: bool,
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tv-analytics-bench-"))
    pg = None
    if database_url:
        from _stacks import PgDatabase

        pg = PgDatabase(database_url, "analytics")
        database_url = pg.url
    _setup_env(tmp, database_url)
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from trading import config_service
        from trading.api.tokens import issue_token

        call_command("migrate", interactive=False, verbosity=0)
        if baseline:
            _use_baseline()
        config_service.ensure_initialised()
        now = datetime.now(UTC)
        began = time.perf_counter()
        counts = _seed(trades, seed, now)
        if not uncompacted:
            counts["points"] -= _compact(now)
        setup = time.perf_counter() - began
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-4711")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, readonly=True)}")
        client.force_login(user)  # the page itself is the console's (session)
        calls = [
            ("summary, all time", "/api/v1/analytics/summary"),
            ("summary, last 7 days", f"/api/v1/analytics/summary?from={(now - timedelta(days=7)).date()}"),
            ("summary, one pair (realised curve)", "/api/v1/analytics/summary?symbol=C03USDT"),
            ("equity, all time", "/api/v1/analytics/equity"),
            ("trades, first page", "/api/v1/trades?limit=100"),
        ]
        if client.get("/analytics/").status_code == 200:  # the page of issue 12 part A
            calls.append(("/analytics/ page", "/analytics/"))
        table = []
        for label, url in calls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            median_ms, max_ms, cpu_ms = _time(lambda url=url: client.get(url), repeats)
            verdict = "yes" if median_ms < TARGET_MS else "NO"
            table.append([label, url, f"{median_ms:.0f}", f"{max_ms:.0f}", f"{cpu_ms:.0f}", verdict])
        engine = ("PostgreSQL" if database_url else "SQLite") + (" baseline" if baseline else "")
        shape = (
            "30 days of one-minute points, uncompacted"
            if uncompacted
            else "30 days of one-minute points as compacted"
        )
        print(
            f"# analytics API — {counts['trades']:,} closed trades, {counts['points']:,} equity points "
            f"({shape}; seeded in {setup:.1f} s); {engine}, {repeats} repeats, load {load_average()}\n"
        )
        print(markdown_table(["call", "url", "median ms", "max ms", "CPU ms", f"< {TARGET_MS} ms"], table))
        for label, _, median_ms, max_ms, cpu_ms, _ in table:
            figure(
                f"analytics {label}",
                f"< {TARGET_MS} ms",
                f"{median_ms} ms median (max {max_ms} ms, CPU {cpu_ms} ms)",
                float(median_ms) < TARGET_MS,
                db=engine,
                points=counts["points"],
                load=load_average(),
            )
        if profile:
            _profile(client, "/api/v1/analytics/summary", 30)
            _profile(client, "/api/v1/analytics/equity", 20)
    finally:
        if pg is not None:
            from django.db import connections

            connections.close_all()
            pg.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=int, default=10_000, help="closed trades (default 10,000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per call (default 7)")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--database-url", help="a PostgreSQL server to create a throw-away database on")
    parser.add_argument("--profile", action="store_true", help="print cProfile of summary and equity")
    parser.add_argument("--uncompacted", action="store_true", help="keep all 43,200 one-minute points")
    parser.add_argument("--baseline", action="store_true", help="the read path before the speed work")
    args = parser.parse_args(argv)
    if not 20 <= args.trades <= 200_000 or not 1 <= args.repeats <= 100:
        parser.error("--trades must be 20..200000 and --repeats 1..100")
    run(
        args.trades, args.repeats, args.seed, args.database_url, args.profile, args.uncompacted, args.baseline
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
