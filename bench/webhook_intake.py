"""Webhook intake under open-loop load, against the bare `/healthz` view of the same server.

Starts `manage.py run` (SQLite, temp data dir) on a free loopback port. For each target rate it
first loads `GET /healthz` (no database: the cost of daphne + Django alone), then
`POST /webhooks/tradingview` with unique entry payloads. Requests leave on a fixed schedule
whatever the answers do (open loop), and each latency is measured from the request's *scheduled*
send time, so a stalled server shows up as latency instead of silently slowing the generator.

Afterwards every 202 is checked against the Signal table (read-only SQLite), and the engine is
given time to drain its inbox before the next phase.

    .venv/bin/python bench/webhook_intake.py                 # 50 and 200 req/s, 30 s each
    .venv/bin/python bench/webhook_intake.py --rates 50 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from _harness import CpuMeter, EngineServer, markdown_table, ms, percentile, wait_until_quiet  # noqa: E402

DRAIN_TIMEOUT_SEC = 180  # the engine must have applied every webhook within this after a phase
WARMUP_REQUESTS = 20


@dataclass
class Phase:
    endpoint: str
    rate: float
    requests: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful answers only
    statuses: Counter = field(default_factory=Counter)
    signal_ids: list[int] = field(default_factory=list)
    max_send_lag: float = 0.0
    wall: float = 0.0  # first scheduled send to last answer
    cpu: CpuMeter | None = None
    before: CpuMeter | None = None  # 2 s just before the phase: idle server and other processes

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def saturated(self) -> bool:
        """The server did not keep up: answers below 95 % of the target rate, or requests left unanswered."""
        return self.throughput < 0.95 * self.rate or self.answered < self.requests

    @property
    def throughput(self) -> float:
        return self.answered / self.wall if self.wall > 0 else 0.0


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


class _HttpxSender:
    def __init__(self, connections: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(limits=limits, timeout=timeout)
        self.errors: tuple[type[BaseException], ...] = (httpx.HTTPError, OSError)

    async def send(self, url: str, body: bytes | None) -> tuple[int, bytes]:
        if body is None:
            response = await self.client.get(url)
        else:
            response = await self.client.post(url, content=body, headers=JSON)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


class _AiohttpSender:
    def __init__(self, connections: int, timeout: float) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.errors = (aiohttp.ClientError, asyncio.TimeoutError, OSError)

    async def send(self, url: str, body: bytes | None) -> tuple[int, bytes]:
        if body is None:
            async with self.session.get(url) as response:
                return response.status, await response.read()
        async with self.session.post(url, data=body, headers=JSON) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


SENDERS = {"aiohttp": _AiohttpSender, "httpx": _HttpxSender}
JSON = {"Content-Type": "application/json"}


async def open_loop(
    url: str,
    rate: float,
    seconds: float,
    bodies: list[bytes] | None,
    *,
    endpoint: str,
    connections: int,
    timeout: float,
    client: str = "aiohttp",
) -> Phase:
    """Send `rate * seconds` requests at fixed intervals; never wait for an answer before the next."""
    count = int(rate * seconds)
    phase = Phase(endpoint=endpoint, rate=rate, requests=count)
    loop = asyncio.get_running_loop()
    sender = SENDERS[client](connections, timeout)
    last_answer = 0.0

    async def one(i: int, scheduled: float) -> None:
        nonlocal last_answer
        try:
            status, content = await sender.send(url, None if bodies is None else bodies[i])
        except sender.errors as exc:
            phase.statuses[f"error {type(exc).__name__}"] += 1
            return
        done = loop.time()
        last_answer = max(last_answer, done)
        phase.latencies.append(done - scheduled)
        phase.statuses[str(status)] += 1
        if status == 202:
            phase.signal_ids.append(json.loads(content)["signal_id"])

    try:
        start = loop.time() + 0.05
        tasks = []
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            phase.max_send_lag = max(phase.max_send_lag, loop.time() - scheduled)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        # Bounded: every request has its own timeout; anything still pending after that is cancelled.
        _, pending = await asyncio.wait(tasks, timeout=timeout + 5)
        for task in pending:
            task.cancel()
        if pending:
            phase.statuses["unanswered"] += len(pending)
        phase.wall = max(last_answer - start, 1e-9)
    finally:
        await sender.close()
    return phase


def count_signals(server: EngineServer, tag: str) -> dict[str, int]:
    rows = server.query(
        "SELECT status, COUNT(*) FROM trading_signal WHERE trade_id LIKE ? GROUP BY status", (f"{tag}-%",)
    )
    return dict(rows)


def missing_ids(server: EngineServer, ids: list[int]) -> int:
    found: set[int] = set()
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in server.query(f"SELECT id FROM trading_signal WHERE id IN ({marks})", part))
    return len(set(ids) - found)


def wait_inbox_drained(server: EngineServer) -> float:
    """Seconds until the engine has applied every received signal (bounded by DRAIN_TIMEOUT_SEC)."""
    began = time.monotonic()
    while time.monotonic() - began < DRAIN_TIMEOUT_SEC:
        if not server.query("SELECT COUNT(*) FROM trading_signal WHERE status = 'received'")[0][0]:
            return time.monotonic() - began
        time.sleep(0.25)
    return float("inf")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[50.0, 200.0],
        help="comma-separated target rates in requests/s (default 50,200)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each phase (default 30)")
    parser.add_argument(
        "--connections", type=int, default=64, help="client connection pool size (default 64)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in s (default 10)")
    parser.add_argument(
        "--client",
        choices=sorted(SENDERS),
        default="aiohttp",
        help="HTTP client of the load generator (default aiohttp: less client CPU than httpx)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each phase, wait up to this many s for other processes to use < 0.3 cores (default 60)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir and server log")
    args = parser.parse_args(argv)
    if any(r <= 0 or r > 2000 for r in args.rates) or not 0 < args.seconds <= 300:
        parser.error("rates must be in (0, 2000] and seconds in (0, 300]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases: list[Phase] = []
    persistence: list[list[object]] = []
    print(
        f"# webhook intake — python {platform.python_version()}, client {args.client}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    with EngineServer(keep=args.keep, label="intake") as server:
        health_url = f"{server.base}/healthz"
        hook_url = f"{server.base}/webhooks/tradingview"
        run_tag = f"bench{int(time.time())}"

        async def warm_up() -> None:
            # First requests pay for imports and connection set-up; not measured.
            warm = [webhook_body(server.secret, f"{run_tag}-warm", i) for i in range(WARMUP_REQUESTS)]
            kw = {"connections": 4, "timeout": args.timeout, "client": args.client}
            await open_loop(health_url, 20, 1, None, endpoint="warm", **kw)
            await open_loop(hook_url, 20, 1, warm, endpoint="warm", **kw)

        asyncio.run(warm_up())
        wait_inbox_drained(server)
        pid = server.proc.pid if server.proc else None

        def measured(url: str, rate: float, bodies: list[bytes] | None, endpoint: str) -> Phase:
            quiet = wait_until_quiet(pid, args.quiet_wait)
            meter = CpuMeter(pid)
            kw = {
                "endpoint": endpoint,
                "connections": args.connections,
                "timeout": args.timeout,
                "client": args.client,
            }
            phase = asyncio.run(open_loop(url, rate, args.seconds, bodies, **kw))
            phase.cpu, phase.before = meter.stop(), quiet
            return phase

        for rate in args.rates:
            tag = f"{run_tag}-r{rate:g}"
            phases.append(measured(health_url, rate, None, "GET /healthz"))
            bodies = [webhook_body(server.secret, tag, i) for i in range(int(rate * args.seconds))]
            hooks = measured(hook_url, rate, bodies, "POST /webhooks/tradingview")
            phases.append(hooks)
            drained = wait_inbox_drained(server)
            by_status = count_signals(server, tag)
            rows = sum(by_status.values())
            accepted = hooks.statuses.get("202", 0)
            missing = missing_ids(server, hooks.signal_ids)
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
        code = server.stop()
        log_tail = server.tail(1500)

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
                "CPU cores client / server / others",
                "before: idle server / others",
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
                    f"{p.before.server:.2f} / {p.before.other:.2f}" if p.before else "n/a",
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
    print("\n## Webhook p99 / bare p99 (target ≤ 3×)\n")
    ratio_rows = []
    for bare, hooks in zip(phases[::2], phases[1::2], strict=True):
        b99, w99 = percentile(bare.latencies, 99), percentile(hooks.latencies, 99)
        ratio = w99 / b99 if b99 > 0 else float("nan")
        if bare.saturated or hooks.saturated:
            verdict = "n/a: saturated (" + ", ".join(p.endpoint for p in (bare, hooks) if p.saturated) + ")"
        else:
            verdict = "met" if ratio <= 3 else "NOT met"
        ratio_rows.append([f"{bare.rate:g}", ms(b99), ms(w99), f"{ratio:.1f}×", verdict])
    print(markdown_table(["rate", "bare p99 ms", "webhook p99 ms", "ratio", "target ≤ 3×"], ratio_rows))
    print(f"\nserver stopped with SIGINT, exit code {code}")
    if code not in (0, None):
        print(f"server log tail:\n```\n{log_tail}\n```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
