"""Signal-to-order latency: webhook received → the group's DCA0 ("entry") order accepted by the exchange.

Starts `manage.py run` (SQLite, paper exchange, temp data dir), raises
`execution_pool.max_open_groups` to 1000 and the paper starting balance through the API, then
sends N entry webhooks for N distinct Binance USDT spot markets, paced (default 5/s). When every
signal is processed it reads, per signal, `Signal.received_at` (stamped by the webhook view) and
the entry order's `Order.updated_at`, which `trading.engine.orders.apply_report` writes when the
exchange's answer to `create_order` is applied (the row is first committed as SUBMITTING with
updated_at = created_at; a DCA0 that fills at once is never written again). Both clocks are the
same process's wall clock.

Each pass uses a fresh server. `app.engine_poll_interval_ms` is read once, when the scheduler is
built (trading/engine/runner.py), so a pass with another poll interval saves it through the API and
then restarts the server.

    .venv/bin/python bench/signal_to_order.py                     # N=200, poll 100 ms then 20 ms
    .venv/bin/python bench/signal_to_order.py -n 50 --poll-ms 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (  # noqa: E402
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
DEFAULT_POLL_MS = 100  # the shipped app.engine_poll_interval_ms
PROCESS_TIMEOUT_SEC = 180
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


@dataclass
class PassResult:
    poll_ms: int
    sent: int
    accepted: int
    by_status: dict[str, int]
    total: list[float]  # received → entry accepted, seconds, in arrival order
    pickup: list[float]  # received → group opened
    placement: list[float]  # group opened → entry accepted
    processing_wait: float
    tick_overruns: int
    orders_by_state: dict[str, int]
    cpu: CpuMeter


def run_pass(poll_ms: int, markets: list[Market], pace: float, keep: bool) -> PassResult:
    with EngineServer(keep=keep, label=f"s2o-{poll_ms}") as server:
        server.issue_token()
        status, body = server.api(
            "PUT",
            "config",
            {
                "execution_pool": {"max_open_groups": 1000},
                # 200 pyramids × 200 USDT is more than the default 10,000 USDT paper balance; the
                # balance is seeded on the first order, so raising it now is enough.
                "exchange": {"paper_starting_balance_usdt": "1000000"},
                "app": {"engine_poll_interval_ms": poll_ms},
            },
        )
        if status != 200:
            raise SystemExit(f"PUT /api/v1/config answered {status}: {body}")
        if server.query("SELECT COUNT(*) FROM exchanges_paperbalance")[0][0]:
            raise SystemExit("the paper balance was already seeded; the raised balance would not apply")
        if poll_ms != DEFAULT_POLL_MS:
            server.restart()  # the tick interval is only read when the scheduler is built
        time.sleep(1.0)  # let the engine pick the new config up on a tick
        log_start = len(server.tail(10**9))
        wait_until_quiet(server.proc.pid if server.proc else None, QUIET_WAIT_SEC)
        meter = CpuMeter(server.proc.pid if server.proc else None)

        tag = f"s2o{int(time.time())}p{poll_ms}"
        url = f"{server.base}/webhooks/tradingview"
        ids: list[int] = []
        start = time.monotonic()
        for i, market in enumerate(markets):
            delay = start + i / pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            code, answer = call("POST", url, entry_payload(server.secret, market, tag))
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
                "SELECT COUNT(*) FROM trading_order WHERE purpose = 'entry' AND state = 'submitting'"
            )[0][0]
            return signals + orders

        waited_from = time.monotonic()
        while pending() and time.monotonic() - waited_from < PROCESS_TIMEOUT_SEC:
            time.sleep(0.25)
        processing_wait = time.monotonic() - waited_from
        meter.stop()

        rows = server.query(
            f"""
            SELECT s.id, s.status, s.received_at, g.opened_at, o.created_at, o.updated_at, o.state
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

    by_status: dict[str, int] = {}
    total, pickup, placement = [], [], []
    for _sid, status, received, opened, _created, updated, _state in rows:
        by_status[status] = by_status.get(status, 0) + 1
        received_at, opened_at, accepted_at = _dt(received), _dt(opened), _dt(updated)
        if received_at is None or opened_at is None or accepted_at is None:
            continue
        total.append((accepted_at - received_at).total_seconds())
        pickup.append((opened_at - received_at).total_seconds())
        placement.append((accepted_at - opened_at).total_seconds())
    return PassResult(
        poll_ms=poll_ms,
        sent=len(markets),
        accepted=len(ids),
        by_status=by_status,
        total=total,
        pickup=pickup,
        placement=placement,
        processing_wait=processing_wait,
        tick_overruns=log_text.count("maximum number of running instances reached"),
        orders_by_state=orders_by_state,
        cpu=meter,
    )


def report(results: list[PassResult]) -> None:
    print("\n## Webhook received → entry (DCA0) order accepted\n")
    print(
        markdown_table(
            [
                "poll ms",
                "signals",
                "202",
                "entry orders",
                "p50 ms",
                "p99 ms",
                "max ms",
                "target p99 < 250 ms",
                "signal outcomes",
                "tick overruns logged",
                "CPU cores client / server / others",
            ],
            [
                [
                    r.poll_ms,
                    r.sent,
                    r.accepted,
                    len(r.total),
                    ms(percentile(r.total, 50)),
                    ms(percentile(r.total, 99)),
                    ms(max(r.total, default=float("nan"))),
                    "met" if percentile(r.total, 99) < 0.25 else "NOT met",
                    ", ".join(f"{k} {v}" for k, v in sorted(r.by_status.items())),
                    r.tick_overruns,
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
                "poll ms",
                "received → group opened (wait for tick + intake)",
                "group opened → entry accepted (ladder rows + order + paper fill)",
            ],
            [
                [
                    r.poll_ms,
                    f"{ms(percentile(r.pickup, 50))} / {ms(percentile(r.pickup, 99))}",
                    f"{ms(percentile(r.placement, 50))} / {ms(percentile(r.placement, 99))}",
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
            [r.poll_ms] + [f"{ms(median(part))} / {ms(max(part, default=float('nan')))}" for part in fifths]
        )
    print(markdown_table(["poll ms", "1st fifth", "2nd", "3rd", "4th", "5th"], rows))
    print("\n## Orders at the end (purpose state: count)\n")
    for r in results:
        print(
            f"- poll {r.poll_ms} ms: " + ", ".join(f"{k}: {v}" for k, v in sorted(r.orders_by_state.items()))
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=200, help="signals = distinct markets (default 200)")
    parser.add_argument("--pace", type=float, default=5.0, help="webhooks per second (default 5)")
    parser.add_argument(
        "--poll-ms",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[100, 20],
        help="engine_poll_interval_ms of each pass, comma-separated (default 100,20)",
    )
    parser.add_argument("--keep", action="store_true", help="keep each pass's temp data dir and server log")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 350 or not 0 < args.pace <= 100:
        parser.error("-n must be 1..350 and --pace in (0, 100]")
    if any(not 20 <= p <= 5000 for p in args.poll_ms):
        parser.error("--poll-ms values must be 20..5000 (the config's bounds)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    markets = pick_markets(args.n)
    print(
        f"# signal → order — {args.n} distinct markets at {args.pace:g}/s, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    first = markets[0]
    print(
        f"markets {first.exchange_symbol} @ {first.entry_price:f} … {markets[-1].exchange_symbol}, {ORDER_SIZE_QUOTE} USDT each"
    )
    results = [run_pass(poll, markets, args.pace, args.keep) for poll in args.poll_ms]
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
