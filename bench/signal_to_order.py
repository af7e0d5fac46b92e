"""Signal → first order: webhook received → the group's DCA0 ("entry") order accepted by the paper exchange.

The engine is woken when a webhook commits (over the link from `manage.py run`, or by PostgreSQL's
NOTIFY for `runengine`); the 100 ms poll stays as the fallback. Two kinds of arrivals, on one
fresh stack (bench/_stacks.py), each entry on a market of its own:

- single signals: one at a time, `--gap` apart (uniformly random between 0.5× and 1.5×, seeded), so
  nothing queues behind an earlier signal: the latency of a woken engine;
- bursts of `--burst` entries sent at once (threads), `--burst-gap` s apart: the tail when entries
  queue behind each other.

`--layout embedded` is `manage.py run` on SQLite (or PostgreSQL with `--postgres`); `--layout
production` is web workers + `runengine` + PostgreSQL + Redis. The script raises
`execution_pool.max_open_groups` and the paper balance through the API first. Per signal it reads
`Signal.received_at` (stamped by the webhook view) and the entry order's `Order.updated_at`, written
when the exchange's answer to `create_order` is booked (a DCA0 that fills at once is never written
again): both the wall clock of this machine. The breakdown uses `PositionGroup.opened_at`.

    .venv/bin/python bench/signal_to_order.py                                   # embedded, SQLite
    .venv/bin/python bench/signal_to_order.py --layout production --server daphne --workers 1
    .venv/bin/python bench/signal_to_order.py --layout embedded --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    CpuMeter,
    call,
    figure,
    load_average,
    markdown_table,
    ms,
    percentile,
    wait_until_quiet,
    wakeup_probe,
)
from _stacks import DEFAULT_REDIS, SERVERS, make_stack  # noqa: E402

from trading.config_schema import dca_levels, default_config  # noqa: E402  (pure: no Django)
from trading.core.ladder import build_ladder, dca0_guard_price  # noqa: E402
from trading.core.sizing import PyramidSize  # noqa: E402
from trading.core.types import MarketRules, Side  # noqa: E402

EXCHANGE_INFO = (
    Path(__file__).resolve().parents[1] / "exchanges/data/binance_spot_exchangeInfo_2023-09-08.json"
)
ORDER_SIZE_QUOTE = Decimal(200)
PROCESS_TIMEOUT_SEC = 180
SEED = 7
# Issue 10: p99 < 250 ms for singles and bursts; p50 < 30 ms "once the engine is woken, not polled",
# which is the single signal's latency. A burst's median entry waits for the entries decided ahead
# of it (docs/benchmarks.md §10.13), so its p50 is printed without a verdict.
P99_TARGET_MS, P50_TARGET_MS = 250.0, 30.0


@dataclass(frozen=True)
class Market:
    exchange_symbol: str  # BTCUSDT
    entry_price: Decimal


def _filters(symbol: dict) -> dict[str, dict]:
    return {f["filterType"]: f for f in symbol["filters"]}


def pick_markets(count: int) -> list[Market]:
    """`count` TRADING USDT spot markets with a plausible price whose whole default ladder is valid.

    The file has no prices. Binance sizes a lot step so that one step is worth roughly 1-50 cents,
    so 0.1 / stepSize lands near the real price (BTC 10,000, ETH 1,000, DOGE 0.1). The price is
    put on the tick grid, kept within the price filter, and the pure ladder builder must accept
    the 200 USDT pyramid without skipping or merging a leg.
    """
    levels = dca_levels(default_config())
    size = PyramidSize(ORDER_SIZE_QUOTE, "quote")
    chosen: list[Market] = []
    for symbol in json.loads(EXCHANGE_INFO.read_text())["symbols"]:
        if symbol["status"] != "TRADING" or symbol["quoteAsset"] != "USDT":
            continue
        if not symbol.get("isSpotTradingAllowed", True):
            continue
        f = _filters(symbol)
        price_f, lot = f["PRICE_FILTER"], f["LOT_SIZE"]
        notional = f.get("NOTIONAL") or f.get("MIN_NOTIONAL") or {}
        tick, step = Decimal(price_f["tickSize"]), Decimal(lot["stepSize"])
        if tick <= 0 or step <= 0:
            continue
        price = (Decimal("0.1") / step // tick) * tick
        price = max(price, Decimal(price_f["minPrice"]), tick)
        if tick > price / 1000:  # ladder gaps of 0.5 % need a fine enough tick
            continue
        rules = MarketRules(
            symbol=f"{symbol['baseAsset']}/{symbol['quoteAsset']}",
            tick_size=tick.normalize(),
            step_size=step.normalize(),
            min_qty=Decimal(lot["minQty"]),
            min_notional=Decimal(notional.get("minNotional", "0")),
            max_qty=Decimal(lot["maxQty"]),
        )
        plan = build_ladder(Side.LONG, price, size, levels, rules)
        guard = dca0_guard_price(Side.LONG, price, default_config().grid_strategy.max_slippage_percent, rules)
        if plan.error or plan.adjustments or guard > Decimal(price_f["maxPrice"]):
            continue
        chosen.append(Market(symbol["symbol"], price.normalize()))
        if len(chosen) == count:
            return chosen
    raise SystemExit(f"only {len(chosen)} suitable markets in {EXCHANGE_INFO.name}, asked for {count}")


def entry_payload(secret: str, market: Market, tag: str) -> dict:
    return {
        "secret": secret,
        "tv": {
            "exchange": "BINANCE",
            "symbol": market.exchange_symbol,
            "timeframe": "15",
            "entry_price": format(market.entry_price, "f"),
            "order_size": format(ORDER_SIZE_QUOTE, "f"),
        },
        "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote"},
        "strategy_info": {"trade_id": f"{tag}-{market.exchange_symbol}", "alert_name": "bench"},
    }


def _utc(value: object) -> datetime | None:
    """SQLite gives text, PostgreSQL aware datetimes: both to aware UTC."""
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


@dataclass
class Arrivals:
    """What one kind of arrival measured (seconds)."""

    kind: str
    sent: int = 0
    ids: list[int] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)  # how long each POST took, client side
    total: list[float] = field(default_factory=list)  # received → entry accepted
    pickup: list[float] = field(default_factory=list)  # received → group opened
    placement: list[float] = field(default_factory=list)  # group opened → entry accepted
    outcomes: dict[str, int] = field(default_factory=dict)
    cpu: CpuMeter | None = None
    load: str = ""
    probe: str = ""  # scheduler and PostgreSQL latency just before (bench/_harness.py wakeup_probe)


def post(stack, n: int, market: Market, tag: str, into: Arrivals, lock: threading.Lock) -> None:
    """POST one entry; round-robin over the stack's web processes, like a proxy would."""
    url = f"{stack.urls[n % len(stack.urls)]}/webhooks/tradingview"
    began = time.monotonic()
    code, answer = call("POST", url, entry_payload(stack.secret, market, tag))
    with lock:
        into.sent += 1
        into.answers.append(time.monotonic() - began)
        if code == 202:
            into.ids.append(answer["signal_id"])
        else:
            print(f"  {market.exchange_symbol}: {code} {answer}", file=sys.stderr)


def send_singles(stack, markets: list[Market], gap: float, into: Arrivals) -> None:
    rng, lock = random.Random(SEED), threading.Lock()
    for n, market in enumerate(markets):
        post(stack, n, market, "single", into, lock)
        time.sleep(gap * rng.uniform(0.5, 1.5))


def send_bursts(stack, markets: list[Market], size: int, gap: float, into: Arrivals) -> None:
    lock = threading.Lock()
    for start in range(0, len(markets), size):
        threads = [
            threading.Thread(target=post, args=(stack, n, market, "burst", into, lock))
            for n, market in enumerate(markets[start : start + size], start)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(gap)


def wait_processed(stack, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))

    def pending() -> int:
        signals = stack.query(
            f"SELECT COUNT(*) FROM trading_signal WHERE id IN ({marks}) AND status = 'received'", ids
        )[0][0]
        orders = stack.query(
            "SELECT COUNT(*) FROM trading_order WHERE purpose = 'entry' AND state IN ('queued', 'submitting')"
        )[0][0]
        return signals + orders

    began = time.monotonic()
    while pending() and time.monotonic() - began < PROCESS_TIMEOUT_SEC:
        time.sleep(0.25)


def read_latencies(stack, into: Arrivals) -> None:
    marks = ",".join("?" * len(into.ids))
    rows = stack.query(
        f"""
        SELECT s.status, s.received_at, g.opened_at, o.updated_at
        FROM trading_signal s
        LEFT JOIN trading_positiongroup g ON g.id = s.group_id
        LEFT JOIN trading_order o ON o.id = (
            SELECT MIN(id) FROM trading_order WHERE group_id = s.group_id AND purpose = 'entry'
        )
        WHERE s.id IN ({marks}) ORDER BY s.id
        """,
        into.ids,
    )
    for status, received, opened, accepted in rows:
        into.outcomes[status] = into.outcomes.get(status, 0) + 1
        received_at, opened_at, accepted_at = _utc(received), _utc(opened), _utc(accepted)
        if received_at is None or opened_at is None or accepted_at is None:
            continue
        into.total.append((accepted_at - received_at).total_seconds())
        into.pickup.append((opened_at - received_at).total_seconds())
        into.placement.append((accepted_at - opened_at).total_seconds())


def prepare(stack, poll_ms: int | None) -> None:
    stack.issue_token()
    config: dict = {
        "execution_pool": {"max_open_groups": 1000},
        # More pyramids × 200 USDT than the default 10,000 USDT paper balance; it is seeded on
        # the first order, so raising it now is enough.
        "exchange": {"paper_starting_balance_usdt": "1000000"},
    }
    if poll_ms is not None:  # a long poll shows whether the wake-up, not the poll, picks signals up
        config["app"] = {"engine_poll_interval_ms": poll_ms}
    status, body = stack.api("PUT", "config", config)
    if status != 200:
        raise SystemExit(f"PUT /api/v1/config answered {status}: {body}")
    if stack.query("SELECT COUNT(*) FROM exchanges_paperbalance")[0][0]:
        raise SystemExit("the paper balance was already seeded; the raised balance would not apply")
    time.sleep(1.0)  # the engine applies a saved config on its next tick


def measure(stack, kind: str, send, quiet_wait: float) -> Arrivals:
    into = Arrivals(kind)
    wait_until_quiet(stack.web_pids, quiet_wait, engine=stack.engine_pids, db=stack.db_pids)
    into.probe = wakeup_probe(postgres=stack.database.server_url if stack.database else None)
    meter, into.load = CpuMeter(stack.web_pids, stack.engine_pids, stack.db_pids), load_average()
    send(into)
    wait_processed(stack, into.ids)
    into.cpu = meter.stop()
    read_latencies(stack, into)
    return into


def report(results: list[Arrivals], where: str) -> None:
    print("\n## Webhook received → entry (DCA0) order accepted\n")
    print(
        markdown_table(
            [
                "arrivals",
                "sent",
                "202",
                "entry orders",
                "p50 ms",
                "p99 ms",
                "max ms",
                "received → group opened p50 / p99 ms",
                "group opened → entry accepted p50 / p99 ms",
                "webhook answer p50 / max ms",
                "signal outcomes",
                "CPU cores client / web / engine / (db /) others",
                "load avg",
            ],
            [
                [
                    r.kind,
                    r.sent,
                    len(r.ids),
                    len(r.total),
                    ms(percentile(r.total, 50)),
                    ms(percentile(r.total, 99)),
                    ms(max(r.total, default=float("nan"))),
                    f"{ms(percentile(r.pickup, 50))} / {ms(percentile(r.pickup, 99))}",
                    f"{ms(percentile(r.placement, 50))} / {ms(percentile(r.placement, 99))}",
                    f"{ms(percentile(r.answers, 50))} / {ms(max(r.answers, default=float('nan')))}",
                    ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items())),
                    str(r.cpu),
                    r.load,
                ]
                for r in results
            ],
        )
    )
    for r in results:
        print(f"\n{r.kind}: just before, {r.probe}")
    print("\n## Figures\n")
    for r in results:
        p50, p99 = percentile(r.total, 50) * 1000, percentile(r.total, 99) * 1000
        complete = len(r.total) == r.sent
        ctx = {"layout": where, "load": r.load}
        figure(
            f"signal → first order p99, {r.kind}",
            f"< {P99_TARGET_MS:g} ms",
            f"{p99:.1f} ms",
            complete and p99 < P99_TARGET_MS,
            **ctx,
        )
        single = r.kind == "single"
        figure(
            f"signal → first order p50, {r.kind}",
            f"< {P50_TARGET_MS:g} ms" if single else "— (p50 < 30 ms is a woken engine's: single signals)",
            f"{p50:.1f} ms",
            (complete and p50 < P50_TARGET_MS) if single else None,
            **ctx,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layout", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--server", choices=SERVERS, default="daphne", help="production: the web server")
    parser.add_argument("--workers", type=int, default=2, help="production: web processes (default 2)")
    parser.add_argument(
        "--postgres", default=None, help="PostgreSQL server URL (embedded: SQLite unless given)"
    )
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="production: REDIS_URL ('' for none)")
    parser.add_argument("--singles", type=int, default=60, help="single signals (default 60)")
    parser.add_argument("--gap", type=float, default=0.6, help="mean s between single signals (default 0.6)")
    parser.add_argument("--bursts", type=int, default=6, help="bursts (default 6)")
    parser.add_argument("--burst", type=int, default=10, help="entries per burst (default 10)")
    parser.add_argument("--burst-gap", type=float, default=3.0, help="s between bursts (default 3)")
    parser.add_argument(
        "--quiet-wait", type=float, default=20.0, help="wait up to s for a quieter machine first"
    )
    parser.add_argument(
        "--poll-ms", type=int, default=None, help="set app.engine_poll_interval_ms (default: leave 100)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir and logs")
    args = parser.parse_args(argv)
    if not 0 < args.singles + args.bursts * args.burst <= 350:
        parser.error("singles + bursts × burst must be 1..350 (distinct markets)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    markets = pick_markets(args.singles + args.bursts * args.burst)
    singles, bursty = markets[: args.singles], markets[args.singles :]
    stack = make_stack(
        args.layout,
        server=args.server,
        workers=args.workers,
        postgres=args.postgres,
        redis=args.redis or None,
        keep=args.keep,
        label="s2o",
    )
    print(
        f"# signal → first order — {stack.description}; {args.singles} single signals ~{args.gap:g} s apart, "
        f"{args.bursts} bursts of {args.burst}; poll {args.poll_ms or 'default'} ms; {time.strftime('%Y-%m-%d %H:%M %Z')}, load average {load_average()}"
    )
    results = []
    with stack:
        prepare(stack, args.poll_ms)
        if singles:
            results.append(
                measure(
                    stack,
                    "single",
                    lambda into: send_singles(stack, singles, args.gap, into),
                    args.quiet_wait,
                )
            )
        if bursty:
            burst_kind = f"bursts of {args.burst}"
            send = lambda into: send_bursts(stack, bursty, args.burst, args.burst_gap, into)  # noqa: E731
            results.append(measure(stack, burst_kind, send, args.quiet_wait))
        orders = stack.query("SELECT purpose || ' ' || state, COUNT(*) FROM trading_order GROUP BY 1")
    report(results, stack.description)
    print("\norders at the end: " + ", ".join(f"{k}: {v}" for k, v in sorted(orders)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
