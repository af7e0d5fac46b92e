"""Webhook intake under open-loop load, against the bare `/healthz` view of the same server.

Two layouts (bench/_stacks.py):

- `--layout embedded` (default): `manage.py run` (web here, engine in a child process), SQLite.
- `--layout production`: `--workers` web processes of `--server` (daphne: one process per port, the
  generator round-robins over them like a proxy; uvicorn `--workers`; gunicorn with uvicorn
  workers) + `manage.py runengine` + a throw-away PostgreSQL database + Redis, with the psycopg
  pool the project configures (defaults: 10 per web process; the engine 4).

For each target rate it first loads `GET /healthz` (no database: the cost of the server + Django
alone), then `POST /webhooks/tradingview` with unique entry payloads (bench/_load.py: open loop,
latency from each request's scheduled send time). Afterwards every 202 is looked up in the Signal
table and the engine must drain its inbox before the next phase. The end prints one FIGURE line per
target with PASS/MISS.

    .venv/bin/python bench/webhook_intake.py                                  # embedded, 50/200/400
    .venv/bin/python bench/webhook_intake.py --layout production --server uvicorn --workers 2
    .venv/bin/python bench/webhook_intake.py --rates 50 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    CpuMeter,
    figure,
    load_average,
    markdown_table,
    ms,
    percentile,
    wait_until_quiet,
    wakeup_probe,
)
from _load import SENDERS, Phase, open_loop  # noqa: E402
from _stacks import DEFAULT_POSTGRES, DEFAULT_REDIS, SERVERS, make_stack  # noqa: E402

DRAIN_TIMEOUT_SEC = 180  # the engine must have applied every webhook within this after a phase
WARMUP_REQUESTS = 20
RATIO_TARGET = 3.0  # embedded: webhook p99 ≤ 3 × bare p99
PRODUCTION_P99_MS = 50.0


def webhook_body(secret: str, tag: str, i: int) -> bytes:
    """A unique entry: the trade id, alert name and order size differ per request."""
    return json.dumps(
        {
            "secret": secret,
            "tv": {
                "exchange": "BINANCE",
                "symbol": "BTCUSDT",
                "timeframe": "15",
                "entry_price": "43000",
                "order_size": str(100 + i % 100),
            },
            "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote"},
            "strategy_info": {"trade_id": f"{tag}-{i}", "alert_name": f"n{i}"},
        }
    ).encode()


def count_signals(stack, tag: str) -> dict[str, int]:
    rows = stack.query(
        "SELECT status, COUNT(*) FROM trading_signal WHERE trade_id LIKE ? GROUP BY status", (f"{tag}-%",)
    )
    return dict(rows)


def missing_ids(stack, ids: list[int]) -> int:
    found: set[int] = set()
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in stack.query(f"SELECT id FROM trading_signal WHERE id IN ({marks})", part))
    return len(set(ids) - found)


def wait_inbox_drained(stack) -> float:
    """Seconds until the engine has applied every received signal (bounded by DRAIN_TIMEOUT_SEC)."""
    began = time.monotonic()
    while time.monotonic() - began < DRAIN_TIMEOUT_SEC:
        if not stack.query("SELECT COUNT(*) FROM trading_signal WHERE status = 'received'")[0][0]:
            return time.monotonic() - began
        time.sleep(0.25)
    return float("inf")


def errors(phase: Phase) -> int:
    """Requests without a 2xx answer: 4xx/5xx, client errors and timeouts, unanswered."""
    return sum(n for status, n in phase.statuses.items() if not status.startswith("2"))


def ms_per_request(cores: float, phase: Phase) -> str:
    return f"{cores / phase.throughput * 1000:.1f}" if phase.throughput > 0 else "n/a"


def run_phases(stack, args: argparse.Namespace) -> tuple[list[Phase], list[list[object]]]:
    """For each rate: bare, then webhooks; then the persistence check and the drain."""
    phases: list[Phase] = []
    persistence: list[list[object]] = []
    health = [f"{url}/healthz" for url in stack.urls]
    hooks_url = [f"{url}/webhooks/tradingview" for url in stack.urls]
    run_tag = f"bench{int(time.time())}"
    kw = {"timeout": args.timeout, "client": args.client}

    async def warm_up() -> None:
        # First requests pay for imports and connection set-up (every worker's); not measured.
        warm = [webhook_body(stack.secret, f"{run_tag}-warm", i) for i in range(WARMUP_REQUESTS * 2)]
        await open_loop(health, 20, 2, None, endpoint="warm", connections=8, **kw)
        await open_loop(hooks_url, 20, 2, warm, endpoint="warm", connections=8, **kw)

    asyncio.run(warm_up())
    wait_inbox_drained(stack)

    def measured(urls: list[str], rate: float, bodies: list[bytes] | None, endpoint: str) -> Phase:
        quiet = wait_until_quiet(stack.web_pids, args.quiet_wait, engine=stack.engine_pids, db=stack.db_pids)
        meter = CpuMeter(stack.web_pids, stack.engine_pids, stack.db_pids)
        load = load_average()
        phase = asyncio.run(
            open_loop(urls, rate, args.seconds, bodies, endpoint=endpoint, connections=args.connections, **kw)
        )
        phase.cpu, phase.before = meter.stop(), quiet
        phase.load = load
        return phase

    for rate in args.rates:
        tag = f"{run_tag}-r{rate:g}"
        phases.append(measured(health, rate, None, "GET /healthz"))
        bodies = [webhook_body(stack.secret, tag, i) for i in range(int(rate * args.seconds))]
        hooks = measured(hooks_url, rate, bodies, "POST /webhooks/tradingview")
        phases.append(hooks)
        drained = wait_inbox_drained(stack)
        by_status = count_signals(stack, tag)
        rows = sum(by_status.values())
        accepted = hooks.statuses.get("202", 0)
        missing = missing_ids(stack, hooks.signal_ids)
        persistence.append(
            [
                f"{rate:g}",
                hooks.requests,
                accepted,
                rows,
                missing,
                "yes" if missing == 0 and rows >= accepted else "NO",
                rows - accepted + missing,
                ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())),
                "timeout" if drained == float("inf") else f"{drained:.1f}",
            ]
        )
    return phases, persistence


def print_tables(phases: list[Phase], persistence: list[list[object]], with_db: bool) -> None:
    cpu_head = "CPU cores client / web / engine / " + ("PostgreSQL / others" if with_db else "others")
    print("\n## Latency (from scheduled send time), open loop\n")
    print(
        markdown_table(
            [
                "endpoint",
                "target req/s",
                "sent",
                "answered/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "statuses",
                "max send lag ms",
                cpu_head,
                "CPU ms / answer: web / web+engine+db",
                "load avg (1/5/15 min)",
            ],
            [
                [
                    p.endpoint,
                    f"{p.rate:g}",
                    p.requests,
                    f"{p.throughput:.1f}",
                    ms(percentile(p.latencies, 50)),
                    ms(percentile(p.latencies, 99)),
                    ms(max(p.latencies, default=float("nan"))),
                    ", ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items())),
                    ms(p.max_send_lag),
                    str(p.cpu),
                    f"{ms_per_request(p.cpu.web, p)} / {ms_per_request(p.cpu.web + p.cpu.engine + p.cpu.db, p)}"
                    if p.cpu
                    else "n/a",
                    p.load,
                ]
                for p in phases
            ],
        )
    )
    print("\n## Persistence: every 202 must be a Signal row\n")
    print(
        markdown_table(
            [
                "rate",
                "sent",
                "202",
                "Signal rows",
                "202 ids missing",
                "every 202 persisted",
                "rows the client got no 202 for",
                "row status after drain",
                "inbox drained after s",
            ],
            persistence,
        )
    )


def print_figures(layout: str, phases: list[Phase], persistence: list[list[object]], where: str) -> None:
    """One FIGURE line per target and rate (bench/_harness.py `figure`)."""
    print("\n## Figures\n")
    for (bare, hooks), saved in zip(zip(phases[::2], phases[1::2], strict=True), persistence, strict=True):
        rate = f"{hooks.rate:g} req/s"
        b99, w99 = percentile(bare.latencies, 99), percentile(hooks.latencies, 99)
        held = not hooks.saturated and not bare.saturated
        ctx = {"layout": where, "load": hooks.load}
        held_line = f"answered {hooks.throughput:.1f}/s of {hooks.rate:g}, {errors(hooks)} errors"
        figure(f"webhooks held at {rate}", "all answered ≥ 95 % of rate", held_line, held, **ctx)
        figure(
            f"every 202 persisted at {rate}",
            "all",
            f"{saved[4]} of {saved[2]} missing",
            saved[5] == "yes",
            **ctx,
        )
        if layout == "embedded":
            ratio = w99 / b99 if b99 > 0 else float("nan")
            result = f"{ms(w99)} / {ms(b99)} ms = {ratio:.1f}×"
            # The targets: ≤ 3× at 50 and at 200 req/s; 400 is beyond them (reported only).
            ok = (held and ratio <= RATIO_TARGET) if hooks.rate <= 200 else None
            figure(f"webhook p99 / bare p99 at {rate}", f"≤ {RATIO_TARGET:g}×", result, ok, **ctx)
        else:
            p99 = f"p99 {ms(w99)} ms (p50 {ms(percentile(hooks.latencies, 50))}, bare p99 {ms(b99)})"
            figure(
                f"webhook p99 at {rate}",
                f"< {PRODUCTION_P99_MS:g} ms",
                p99,
                held and w99 * 1000 < PRODUCTION_P99_MS,
                **ctx,
            )
            figure(f"webhook errors at {rate}", "0", str(errors(hooks)), errors(hooks) == 0, **ctx)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layout", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--server", choices=SERVERS, default="daphne", help="production: the web server")
    parser.add_argument("--workers", type=int, default=2, help="production: web processes (default 2)")
    parser.add_argument(
        "--postgres",
        default=None,
        help=f"PostgreSQL server URL (a throw-away database is created); production default {DEFAULT_POSTGRES}; "
        "embedded: SQLite unless given",
    )
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="production: REDIS_URL ('' for none)")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[50.0, 200.0, 400.0],
        help="comma-separated target rates in requests/s (default 50,200,400)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each phase (default 30)")
    parser.add_argument(
        "--connections", type=int, default=64, help="client connection pool size (default 64)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in s (default 10)")
    parser.add_argument(
        "--client", choices=sorted(SENDERS), default="aiohttp", help="load generator's HTTP client"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        help="before each phase, wait up to this many s for other processes to use < 0.3 cores (default 20)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir, logs (and database)")
    args = parser.parse_args(argv)
    if any(r <= 0 or r > 2000 for r in args.rates) or not 0 < args.seconds <= 300:
        parser.error("rates must be in (0, 2000] and seconds in (0, 300]")
    if not 1 <= args.workers <= 8:
        parser.error("--workers must be 1..8")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack = make_stack(
        args.layout,
        server=args.server,
        workers=args.workers,
        postgres=args.postgres,
        redis=args.redis or None,
        keep=args.keep,
        label="intake",
    )
    print(
        f"# webhook intake — {stack.description}; python {platform.python_version()}, client {args.client}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {load_average()}"
    )
    with stack:
        probe = wakeup_probe(postgres=stack.database.server_url if stack.database else None)
        print(f"machine before the run: {probe}", flush=True)
        phases, persistence = run_phases(stack, args)
        code = stack.stop()
        log_tail = stack.tail(1500)
    print_tables(phases, persistence, with_db=stack.db_pids is not None)
    print(f"\nstopped, exit code {code}; load average at the end {load_average()}")
    if code not in (0, None):
        print(f"log tail:\n```\n{log_tail}\n```")
    print_figures(args.layout, phases, persistence, stack.description)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
