"""Signal-to-order latency: webhook received → the group's DCA0 ("entry") order accepted by the exchange.

Starts `manage.py run` (SQLite, paper exchange, temp data dir), raises
`execution_pool.max_open_groups` to 1000 and the paper starting balance through the API, then
sends N entry webhooks for N distinct Binance USDT spot markets, paced (default 5/s). When every
signal is processed it reads, per signal, `Signal.received_at` (stamped by the webhook view) and
the entry order's `Order.updated_at`, which `trading.engine.orders.apply_report` writes when the
exchange's answer to `create_order` is applied (the row is first committed as SUBMITTING with
updated_at = created_at; a DCA0 that fills at once is never written again). Both clocks are the
same process's wall clock.

Each pass uses a fresh server and sets, through the API, `app.engine_poll_interval_ms` (how often
the engine ticks; the runner reschedules its tick job when it changes) and
`exchange.order_sync_interval_ms` (how often a tick also syncs live orders — one
`fetch_open_orders` per account — and sweeps take-profit). The APScheduler warnings about skipped
tick runs (carrying the tick's interval) tell how often, and for how long, a tick overran. After
each pass the two periodic steps are timed in-process on the data it left.

    .venv/bin/python bench/signal_to_order.py    # N=200; passes 100/500, 20/500, 100/5000, 20/60000
    .venv/bin/python bench/signal_to_order.py -n 50 --passes 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
    ROOT,
    CpuMeter,
    EngineServer,
    call,
    markdown_table,
    median,
    ms,
    percentile,
    wait_until_quiet,
)

from trading.config_schema import dca_levels, default_config  # noqa: E402  (pure: no Django)
from trading.core.ladder import build_ladder, dca0_guard_price  # noqa: E402
from trading.core.sizing import PyramidSize  # noqa: E402
from trading.core.types import MarketRules, Side  # noqa: E402

EXCHANGE_INFO = (
    Path(__file__).resolve().parents[1] / "exchanges/data/binance_spot_exchangeInfo_2023-09-08.json"
)
ORDER_SIZE_QUOTE = Decimal(200)
DEFAULT_SYNC_MS = 500  # the shipped exchange.order_sync_interval_ms
PROCESS_TIMEOUT_SEC = 180
ARRIVAL_SEED = 7
QUIET_WAIT_SEC = 60  # the machine is shared: wait (bounded) for other processes to calm down


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


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class PassSpec:
    poll_ms: int  # app.engine_poll_interval_ms
    sync_ms: int  # exchange.order_sync_interval_ms (500 shipped)

    @property
    def label(self) -> str:
        return f"{self.poll_ms} / {self.sync_ms}"


def parse_pass(text: str) -> PassSpec:
    poll, _, sync = text.partition("/")
    return PassSpec(int(poll), int(sync or DEFAULT_SYNC_MS))


# Run inside the stopped engine's data dir (manage.py shell): how long the two periodic steps
# that share the engine's one worker thread take with everything the pass left open.
STEP_TIMER = """
import json, time
from trading.engine import orders, takeprofit
from trading.engine.context import EngineContext
from trading.models import Order
from trading.models.orders import LIVE_ORDER_STATES
ctx = EngineContext()
def best(fn, n=5):
    fn()
    times = []
    for _ in range(n):
        began = time.perf_counter(); fn(); times.append(time.perf_counter() - began)
    return sorted(times)[n // 2]
print(json.dumps({
    "live_orders": Order.objects.filter(state__in=LIVE_ORDER_STATES).count(),
    "sync_s": best(lambda: orders.sync_live_orders(ctx)),
    # After the warm-up run no price moved: the steady-state sweep (markets query + price fetch).
    "sweep_s": best(lambda: takeprofit.sweep(ctx)),
    # Every market due, as after a start or when every price moved: loads every open leg.
    "sweep_all_s": best(lambda: (ctx.evaluated_prices.clear(), takeprofit.sweep(ctx))),
}))
"""


def time_engine_steps(server: EngineServer) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", STEP_TIMER],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        print(f"engine step timing failed: {result.stderr[-1500:]}", file=sys.stderr)
        return {}
    return json.loads(lines[-1])


@dataclass
class PassResult:
    spec: PassSpec
    sent: int
    accepted: int
    by_status: dict[str, int]
    total: list[float]  # received → entry accepted, seconds, in arrival order
    pickup: list[float]  # received → group opened
    placement: list[float]  # group opened → entry accepted
    rest: list[float]  # entry accepted → signal finished (the other DCA orders of the ladder)
    processing_wait: float
    tick_overruns: int
    longest_tick: float  # seconds, estimated from consecutive skipped tick runs
    webhook_answer: list[float]  # seconds the POST took, client side
    orders_by_state: dict[str, int]
    cpu: CpuMeter
    steps: dict


SKIP_MARK = "maximum number of running instances reached"


def tick_skips(log_text: str, interval: float) -> list[datetime]:
    """Timestamps of the tick runs APScheduler skipped because the previous tick still ran."""
    mark = f"interval[{timedelta(seconds=interval)}]"
    return [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        for line in log_text.splitlines()
        if SKIP_MARK in line and mark in line and line[:4].isdigit()
    ]


def longest_tick(log_text: str, interval: float) -> float:
    """APScheduler logs each tick run it skips because the previous one still runs; a run of
    consecutive skips (one per interval) bounds how long that tick took."""
    longest, run_start, previous = 0.0, None, None
    for stamp in tick_skips(log_text, interval):
        if previous is None or (stamp - previous).total_seconds() > 1.5 * interval:
            run_start = stamp
        previous = stamp
        longest = max(longest, (stamp - run_start).total_seconds() + 2 * interval)
    return longest


def run_pass(spec: PassSpec, markets: list[Market], pace: float, keep: bool) -> PassResult:
    with EngineServer(keep=keep, label=f"s2o-{spec.poll_ms}-{spec.sync_ms}") as server:
        server.issue_token()
        status, body = server.api(
            "PUT",
            "config",
            {
                "execution_pool": {"max_open_groups": 1000},
                # 200 pyramids × 200 USDT is more than the default 10,000 USDT paper balance; the
                # balance is seeded on the first order, so raising it now is enough.
                "app": {"engine_poll_interval_ms": spec.poll_ms},
                # Read on every tick, so this one applies without a restart.
                "exchange": {
                    "paper_starting_balance_usdt": "1000000",
                    "order_sync_interval_ms": spec.sync_ms,
                },
            },
        )
        if status != 200:
            raise SystemExit(f"PUT /api/v1/config answered {status}: {body}")
        if server.query("SELECT COUNT(*) FROM exchanges_paperbalance")[0][0]:
            raise SystemExit("the paper balance was already seeded; the raised balance would not apply")
        # The engine applies a saved config on its next tick and reschedules its own tick job
        # when the poll interval changed (trading/engine/runner.py); give it a moment.
        time.sleep(1.0)
        log_start = len(server.tail(10**9))
        wait_until_quiet(server.proc.pid if server.proc else None, QUIET_WAIT_SEC)
        meter = CpuMeter(server.proc.pid if server.proc else None)

        tag = f"s2o{int(time.time())}p{spec.poll_ms}s{spec.sync_ms}"
        url = f"{server.base}/webhooks/tradingview"
        ids: list[int] = []
        answer_times: list[float] = []
        # Poisson arrivals (seeded): a fixed 200 ms spacing would keep a constant phase against the
        # 100 ms tick and measure one point of the wait instead of its spread.
        rng = random.Random(ARRIVAL_SEED)
        offsets = list(itertools.accumulate(rng.expovariate(pace) for _ in markets))
        start = time.monotonic()
        for market, offset in zip(markets, offsets, strict=True):
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            code, answer = call("POST", url, entry_payload(server.secret, market, tag))
            answer_times.append(time.monotonic() - began)
            if code == 202:
                ids.append(answer["signal_id"])
            else:
                print(f"  {market.exchange_symbol}: {code} {answer}", file=sys.stderr)

        marks = ",".join("?" * len(ids))

        def pending() -> int:
            signals = server.query(
                f"SELECT COUNT(*) FROM trading_signal WHERE id IN ({marks}) AND status = 'received'", ids
            )[0][0]
            orders = server.query(
                "SELECT COUNT(*) FROM trading_order WHERE purpose = 'entry' AND state IN ('queued', 'submitting')"
            )[0][0]
            return signals + orders

        waited_from = time.monotonic()
        while pending() and time.monotonic() - waited_from < PROCESS_TIMEOUT_SEC:
            time.sleep(0.25)
        processing_wait = time.monotonic() - waited_from
        meter.stop()

        rows = server.query(
            f"""
            SELECT s.id, s.status, s.received_at, g.opened_at, o.updated_at, s.processed_at
            FROM trading_signal s
            LEFT JOIN trading_positiongroup g ON g.id = s.group_id
            LEFT JOIN trading_order o ON o.id = (
                SELECT MIN(id) FROM trading_order WHERE group_id = s.group_id AND purpose = 'entry'
            )
            WHERE s.id IN ({marks}) ORDER BY s.id
            """,
            ids,
        )
        orders_by_state = dict(
            server.query("SELECT purpose || ' ' || state, COUNT(*) FROM trading_order GROUP BY 1")
        )
        log_text = server.tail(10**9)[log_start:]
        server.stop()
        steps = time_engine_steps(server)

    by_status: dict[str, int] = {}
    total, pickup, placement, rest = [], [], [], []
    for _sid, status, received, opened, updated, processed in rows:
        by_status[status] = by_status.get(status, 0) + 1
        received_at, opened_at, accepted_at, done_at = (
            _dt(received),
            _dt(opened),
            _dt(updated),
            _dt(processed),
        )
        if received_at is None or opened_at is None or accepted_at is None or done_at is None:
            continue
        total.append((accepted_at - received_at).total_seconds())
        pickup.append((opened_at - received_at).total_seconds())
        placement.append((accepted_at - opened_at).total_seconds())
        rest.append((done_at - accepted_at).total_seconds())
    return PassResult(
        spec=spec,
        sent=len(markets),
        accepted=len(ids),
        by_status=by_status,
        total=total,
        pickup=pickup,
        placement=placement,
        rest=rest,
        processing_wait=processing_wait,
        tick_overruns=len(tick_skips(log_text, spec.poll_ms / 1000)),
        longest_tick=longest_tick(log_text, spec.poll_ms / 1000),
        webhook_answer=answer_times,
        orders_by_state=orders_by_state,
        cpu=meter,
        steps=steps,
    )


def report(results: list[PassResult]) -> None:
    print("\n## Webhook received → entry (DCA0) order accepted\n")
    print(
        markdown_table(
            [
                "poll / sync ms",
                "signals",
                "202",
                "entry orders",
                "p50 ms",
                "p99 ms",
                "max ms",
                "target p99 < 250 ms",
                "signal outcomes",
                "tick runs skipped (overrun)",
                "longest tick ≈ ms",
                "webhook answer p50 / max ms",
                "CPU cores client / server / others",
            ],
            [
                [
                    r.spec.label,
                    r.sent,
                    r.accepted,
                    len(r.total),
                    ms(percentile(r.total, 50)),
                    ms(percentile(r.total, 99)),
                    ms(max(r.total, default=float("nan"))),
                    "met" if percentile(r.total, 99) < 0.25 else "NOT met",
                    ", ".join(f"{k} {v}" for k, v in sorted(r.by_status.items())),
                    r.tick_overruns,
                    f"{r.longest_tick * 1000:.0f}",
                    f"{ms(percentile(r.webhook_answer, 50))} / {ms(max(r.webhook_answer, default=float('nan')))}",
                    str(r.cpu),
                ]
                for r in results
            ],
        )
    )
    print("\n## Where the time goes (p50 / p99 ms)\n")
    print(
        markdown_table(
            [
                "poll / sync ms",
                "received → group opened (wait for tick + intake)",
                "group opened → entry accepted (ladder rows + order + paper fill)",
                "entry accepted → signal done (4 more DCA orders; the next signal waits for this)",
            ],
            [
                [
                    r.spec.label,
                    f"{ms(percentile(r.pickup, 50))} / {ms(percentile(r.pickup, 99))}",
                    f"{ms(percentile(r.placement, 50))} / {ms(percentile(r.placement, 99))}",
                    f"{ms(percentile(r.rest, 50))} / {ms(percentile(r.rest, 99))}",
                ]
                for r in results
            ],
        )
    )
    print("\n## Latency by arrival order (open groups accumulate: p50 / max ms per fifth)\n")
    rows = []
    for r in results:
        n = len(r.total)
        fifths = [r.total[n * k // 5 : n * (k + 1) // 5] for k in range(5)]
        rows.append(
            [r.spec.label]
            + [f"{ms(median(part))} / {ms(max(part, default=float('nan')))}" for part in fifths]
        )
    print(markdown_table(["poll / sync ms", "1st fifth", "2nd", "3rd", "4th", "5th"], rows))
    print("\n## Periodic engine steps with everything the pass left open (in-process, median of 5)\n")
    print(
        markdown_table(
            [
                "poll / sync ms",
                "live orders",
                "orders.sync_live_orders() ms",
                "takeprofit.sweep() ms, no price moved",
                "takeprofit.sweep() ms, every market due",
            ],
            [
                [
                    r.spec.label,
                    r.steps.get("live_orders", "n/a"),
                    ms(r.steps.get("sync_s", float("nan"))),
                    ms(r.steps.get("sweep_s", float("nan"))),
                    ms(r.steps.get("sweep_all_s", float("nan"))),
                ]
                for r in results
            ],
        )
    )
    print("\n## Orders at the end (purpose state: count)\n")
    for r in results:
        print(
            f"- poll / sync {r.spec.label} ms: "
            + ", ".join(f"{k}: {v}" for k, v in sorted(r.orders_by_state.items()))
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=200, help="signals = distinct markets (default 200)")
    parser.add_argument(
        "--pace", type=float, default=5.0, help="mean webhooks per second, Poisson arrivals (default 5)"
    )
    parser.add_argument(
        "--passes",
        type=lambda text: [parse_pass(x) for x in text.split(",")],
        default=[PassSpec(100, 500), PassSpec(20, 500), PassSpec(100, 5000), PassSpec(20, 60000)],
        help="passes as POLL_MS[/SYNC_MS] (engine_poll_interval_ms / order_sync_interval_ms), "
        "comma-separated (default 100/500,20/500,100/5000,20/60000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep each pass's temp data dir and server log")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 350 or not 0 < args.pace <= 100:
        parser.error("-n must be 1..350 and --pace in (0, 100]")
    if any(not 20 <= p.poll_ms <= 5000 or not 50 <= p.sync_ms <= 60000 for p in args.passes):
        parser.error("--passes: poll must be 20..5000 and sync 50..60000 ms (the config's bounds)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    markets = pick_markets(args.n)
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    print(f"# signal → order — {args.n} distinct markets, Poisson arrivals at {args.pace:g}/s, {when}")
    first, last = markets[0], markets[-1]
    print(
        f"markets {first.exchange_symbol} @ {first.entry_price:f} … {last.exchange_symbol}, {ORDER_SIZE_QUOTE} USDT each"
    )
    results = [run_pass(spec, markets, args.pace, args.keep) for spec in args.passes]
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
