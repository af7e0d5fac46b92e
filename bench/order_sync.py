"""Order sync cost: one `orders.sync_live_orders` over the resting book, on the paper exchange.

The engine reconciles every live order with its exchange every `exchange.order_sync_interval_ms`
(500 ms by default), whether or not anything happens: with many resting DCA legs it is the largest
part of an idle engine's CPU. This script opens `--groups` groups through the real webhook view and
engine (one per market, four resting legs each once DCA0 fills at the signal's price), then times
`--repeats` syncs in this thread (`time.thread_time`: CPU, not wall) and counts their statements.
Nothing at the venue changes between syncs, which is the common case.

    .venv/bin/python bench/order_sync.py                      # SQLite, 60 groups (240 resting legs)
    .venv/bin/python bench/order_sync.py --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _django import throwaway_django  # noqa: E402
from _harness import figure, load_average  # noqa: E402

SECRET = "bench-order-sync"


def open_groups(engine, count: int) -> int:
    """Open `count` groups through the webhook view and `engine`; returns the resting orders."""
    from django.test import Client
    from signal_to_order import entry_payload, pick_markets

    from trading import config_service
    from trading.models import Order, OrderState, Signal

    config_service.update(
        {
            "security": {"webhook_secret": SECRET, "max_signal_lag_seconds": 0},
            "execution_pool": {"max_open_groups": count},
        },
        source="bench",
    )
    client = Client()
    for n, market in enumerate(pick_markets(count)):
        payload = entry_payload(SECRET, market, f"sync-{n}")
        answer = client.post("/webhooks/tradingview", json.dumps(payload), content_type="application/json")
        if answer.status_code != 202:
            raise SystemExit(f"webhook {n} answered {answer.status_code}: {answer.content!r}")
    while Signal.objects.filter(status="received").exists():
        engine.tick()
    for _ in range(3):
        engine.tick()  # DCA0s booked, the resting legs sent
    return Order.objects.filter(state=OrderState.OPEN).count()


def time_syncs(engine, repeats: int) -> tuple[float, int]:
    """Median CPU ms of one sync, and the statements one sync runs."""
    from django.db import connection

    from trading.engine import orders

    ctx = engine.ctx
    samples = []
    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    for _ in range(repeats):
        started = time.thread_time()
        orders.sync_live_orders(ctx)
        samples.append(time.thread_time() - started)
    with connection.execute_wrapper(count):
        orders.sync_live_orders(ctx)
    samples.sort()
    return samples[len(samples) // 2] * 1000, statements[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=60, help="groups to open (four resting legs each)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL: a throw-away test database is made on it"
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    with throwaway_django(args.postgres, "tv-order-sync-") as database:
        from trading.bootstrap import prepare
        from trading.engine.loop import Engine

        prepare(migrate=False)
        engine = Engine(use_lock=False)
        engine.start()
        resting = open_groups(engine, args.groups)
        cpu_ms, statements = time_syncs(engine, args.repeats)
    figure(
        f"order sync, {resting} resting orders on paper",
        "measured (runs every order_sync_interval_ms)",
        f"{cpu_ms:.1f} ms CPU median of {args.repeats}, {statements} statements",
        None,
        database=database,
        load=load_before,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
