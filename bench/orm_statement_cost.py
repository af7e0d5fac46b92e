"""What one engine statement costs in this process: the ORM, `raw()`, and a bare cursor.

The drain profile (docs/benchmarks.md §10.10) puts most of the engine's time per signal in Django
building and compiling querysets, not in the database. This script measures that per statement, on
the engine's commonest question ("the market's live group", `queueing.live_group`, ~1.2 per signal)
and its commonest write (a signal's outcome, `intake.finish`), asked three ways:

- `orm`: the queryset, as the engine asks it today (built and compiled on every call);
- `raw`: the same SQL, compiled by the ORM once, run through `Model.objects.raw()` (rows still become
  model instances with Django's converters) or, for the UPDATE, through the connection's cursor;
- `cursor`: the SQL on a bare cursor, rows left as tuples (the floor for a Python client).

CPU per call (`time.thread_time`, median of `--repeats` rounds of `--calls`), so a busy neighbour
stretches it less than wall time. Against an empty table: the database's own work is the smallest.

    .venv/bin/python bench/orm_statement_cost.py
    .venv/bin/python bench/orm_statement_cost.py --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _django import throwaway_django  # noqa: E402
from _harness import figure, load_average  # noqa: E402


def cpu_us(call: Callable[[], object], calls: int, repeats: int) -> float:
    call()  # warm: connection open, first compile
    rounds = []
    for _ in range(repeats):
        started = time.thread_time()
        for _ in range(calls):
            call()
        rounds.append((time.thread_time() - started) / calls * 1e6)
    return statistics.median(rounds)


def live_group_ways() -> dict[str, Callable[[], object]]:
    from django.db import connection

    from trading.models import PositionGroup
    from trading.models.groups import OPEN_STATUSES

    def orm():
        return PositionGroup.objects.filter(
            account_id=1, symbol="BTC/USDT", timeframe="15", status__in=OPEN_STATUSES
        ).first()

    query = PositionGroup.objects.filter(
        account_id=1, symbol="BTC/USDT", timeframe="15", status__in=OPEN_STATUSES
    ).order_by("pk")[:1]
    sql, params = query.query.sql_with_params()

    def raw():
        return next(iter(PositionGroup.objects.raw(sql, params)), None)

    def cursor():
        with connection.cursor() as c:
            c.execute(sql, params)
            return c.fetchone()

    return {"orm": orm, "raw": raw, "cursor": cursor}


def finish_ways() -> dict[str, Callable[[], object]]:
    """The claim of a signal's outcome: an UPDATE that matches no row here (the cost is the client's)."""
    from django.db import connection
    from django.db.models.sql.subqueries import UpdateQuery
    from django.utils import timezone

    from trading.models import Signal

    now = timezone.now()

    def orm():
        return Signal.objects.filter(pk=0, status="received").update(
            status="applied", reason="opened", group=None, processed_at=now
        )

    query = Signal.objects.filter(pk=0, status="received").query.chain(UpdateQuery)
    query.add_update_values({"status": "applied", "reason": "opened", "group": None, "processed_at": now})
    sql, params = query.get_compiler(connection.alias).as_sql()

    def raw():
        with connection.cursor() as c:
            c.execute(sql, params)
            return c.rowcount

    def cursor():
        c = connection.connection.cursor()  # the driver's own: no Django wrapper at all
        c.execute(sql.replace("%s", "?") if connection.vendor == "sqlite" else sql, params)
        return c.rowcount

    return {"orm": orm, "raw": raw, "cursor": cursor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL: a throw-away test database is made on it"
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    with throwaway_django(args.postgres, "tv-orm-cost-") as database:
        for statement, ways in (
            ("live group SELECT", live_group_ways()),
            ("signal outcome UPDATE", finish_ways()),
        ):
            costs = {name: cpu_us(call, args.calls, args.repeats) for name, call in ways.items()}
            figure(
                f"{statement}, CPU per call in this process",
                "measured",
                " / ".join(f"{name} {us:.0f} µs" for name, us in costs.items())
                + f" (orm ÷ raw {costs['orm'] / costs['raw']:.1f}×)",
                None,
                database=database,
                load=load_before,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
