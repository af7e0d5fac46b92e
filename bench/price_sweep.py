"""Take-profit sweep cost: one price update evaluated across every open group.

Part 1 is pure core (no Django): G groups × 5 pyramids × 7 filled legs of `OpenLeg` with
seeded, realistic Decimal prices and quantities (tick- and step-rounded, prices from 0.001 to
50,000 USDT), and one new price per group: a seeded move (+0.3 %, sd 0.6 %) from the deepest fill, where
the market must have been for every leg to fill, so only a few legs trigger. It times
`trading.core.takeprofit.evaluate_take_profit` for every group, per TP mode, with
`time.perf_counter`, and reports the median and minimum of several repeats.

Part 2 (skip with --no-db) is what the engine does around that on SQLite: an in-process Django with
a temp data dir and 1,000 such groups bulk-created, timing `trading.engine.takeprofit.open_legs_by_group()`
(the query that loads every open leg) and the whole `sweep()` at prices that trigger nothing, so
nothing is written: in steady state (no price moved: one query for the held markets + one price
fetch), after 10 / 100 / 1,000 of the 1,000 markets moved one tick (only their legs are loaded),
and with every market due (the first sweep after a start).

    .venv/bin/python bench/price_sweep.py
    .venv/bin/python bench/price_sweep.py --groups 100,1000 --repeats 5 --no-db
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import CpuMeter, figure, load_average, markdown_table  # noqa: E402

from trading.core.takeprofit import OpenLeg, evaluate_take_profit  # noqa: E402
from trading.core.types import Side, TpMode  # noqa: E402

PYRAMIDS = 5
LEGS = 7
GAPS = [Decimal(g) for g in ("0", "-0.5", "-1", "-1.5", "-2", "-2.5", "-3")]
TP_PERCENTS = [Decimal(t) for t in ("1", "0.5", "2", "1.5", "1", "0.75", "1.25")]
AGGREGATE_TP = Decimal("1.0")
PYRAMID_QUOTE = Decimal(200)
DB_GROUPS = 1000


@dataclass(frozen=True)
class SimGroup:
    symbol: str
    tick: Decimal
    step: Decimal
    pyramid_bases: tuple[Decimal, ...]
    legs: tuple[OpenLeg, ...]
    new_price: Decimal  # the price update under test
    quiet_price: Decimal  # below every leg's TP: triggers nothing


def build_groups(count: int, seed: int) -> list[SimGroup]:
    """Seeded groups of 5 pyramids × 7 filled legs; ids are unique across the whole set."""
    rng = random.Random(seed)
    groups: list[SimGroup] = []
    leg_id = 0
    for g in range(count):
        price = Decimal(str(round(10 ** rng.uniform(-3, 4.7), 12)))
        magnitude = price.adjusted()  # floor(log10(price))
        tick = Decimal(1).scaleb(magnitude - 4)  # ~5 significant digits, like most Binance pairs
        step = Decimal(1).scaleb(max(-8, min(0, -(magnitude + 3))))  # one step worth ~0.1-1 cent..USD
        base = (price // tick) * tick
        bases, legs = [], []
        for p in range(PYRAMIDS):
            # Each further pyramid entered lower (a long averaging down 0-1.5 % per signal).
            pyramid_base = (base * (1 - Decimal(str(round(rng.uniform(0, 1.5), 3))) * p / 100) // tick) * tick
            bases.append(pyramid_base)
            for i in range(LEGS):
                fill = (pyramid_base * (1 + GAPS[i] / 100) // tick) * tick
                qty = (PYRAMID_QUOTE / LEGS / fill).quantize(step, rounding=ROUND_DOWN)
                legs.append(
                    OpenLeg(leg_id=leg_id, open_qty=qty, avg_fill_price=fill, tp_percent=TP_PERCENTS[i])
                )
                leg_id += 1
        # Every leg is filled, so the market has been down to the deepest fill; the update moves
        # the price +0.3 % ± 0.6 % (1 sd) from it, enough for some deep legs to reach their TP.
        deepest = min(leg.avg_fill_price for leg in legs)
        move = Decimal(str(round(rng.gauss(0.3, 0.6), 4)))
        new_price = (deepest * (1 + move / 100) // tick) * tick
        quiet = (deepest // tick) * tick
        groups.append(SimGroup(f"S{g:05d}/USDT", tick, step, tuple(bases), tuple(legs), new_price, quiet))
    return groups


def time_repeats(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """(median s, min s, last result) over `repeats` runs after one untimed warm-up run."""
    result = fn()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times), result


def sweep_core(groups: list[SimGroup], mode: TpMode) -> int:
    """One price update across every group; returns how many groups would close something."""
    triggered = 0
    for group in groups:
        decision = evaluate_take_profit(Side.LONG, group.legs, group.new_price, mode, AGGREGATE_TP)
        if decision.legs:
            triggered += 1
    return triggered


def pure_part(sizes: list[int], repeats: int, seed: int) -> None:
    meter = CpuMeter(None)
    rows = []
    for size in sizes:
        groups = build_groups(size, seed)
        for mode in (TpMode.LEG, TpMode.HYBRID, TpMode.AGGREGATE):
            med, low, triggered = time_repeats(lambda g=groups, m=mode: sweep_core(g, m), repeats)
            target = ("met" if med < 0.05 else "NOT met") if size == 1000 else ""
            rows.append(
                [
                    f"{size:,}",
                    f"{size * PYRAMIDS * LEGS:,}",
                    mode.value,
                    f"{med * 1000:.2f}",
                    f"{low * 1000:.2f}",
                    f"{med / size * 1e6:.1f}",
                    triggered,
                    target,
                ]
            )
    print(f"\n## Pure core: one price update, evaluate_take_profit per group ({repeats} repeats)\n")
    print(
        markdown_table(
            [
                "groups",
                "open legs",
                "mode",
                "median ms",
                "min ms",
                "µs / group",
                "groups triggering",
                "target 1,000 < 50 ms",
            ],
            rows,
        )
    )
    meter.stop()
    print(f"\n(this process used {meter.client:.2f} cores, other processes {meter.other:.2f}, while timing)")
    for size, _legs, mode, med, *_rest in rows:
        if size == "1,000":  # issue 10's baseline for leg mode: 16.7 ms
            figure(
                f"TP evaluation, 1,000 groups × 35 legs, {mode} mode",
                "< 50 ms",
                f"{med} ms",
                float(med) < 50,
                load=load_average(),
            )


def db_part(repeats: int, seed: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tv-sweep-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ["ENGINE_DATA_DIR"] = str(tmp / "data")
    os.environ["XDG_DATA_HOME"] = os.environ["XDG_CONFIG_HOME"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
    try:
        import django

        django.setup()
        from datetime import UTC, datetime

        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from exchanges.paper_models import PaperPrice
        from exchanges.registry import ensure_paper_account
        from trading import config_service
        from trading.engine import fencing, takeprofit
        from trading.engine import prices as price_feed
        from trading.engine.context import EngineContext
        from trading.models import DcaLeg, GroupStatus, LegState, PositionGroup, Pyramid

        call_command("migrate", interactive=False, verbosity=0)
        account = ensure_paper_account()
        config_service.ensure_initialised()
        now = datetime.now(UTC)
        sim = build_groups(DB_GROUPS, seed)
        began = time.perf_counter()
        groups = PositionGroup.objects.bulk_create(
            [
                PositionGroup(
                    account=account,
                    symbol=g.symbol,
                    timeframe="15",
                    side="long",
                    status=GroupStatus.ACTIVE,
                    tp_mode=TpMode.LEG.value,
                    aggregate_tp_percent=AGGREGATE_TP,
                    pyramid_count=PYRAMIDS,
                    opened_at=now,
                )
                for g in sim
            ]
        )
        pyramids = Pyramid.objects.bulk_create(
            [
                Pyramid(
                    group=row,
                    index=p,
                    base_price=g.pyramid_bases[p],
                    size_amount=PYRAMID_QUOTE,
                    size_unit="quote",
                    created_at=now,
                )
                for row, g in zip(groups, sim, strict=True)
                for p in range(PYRAMIDS)
            ]
        )
        legs = []
        for n, (row, g) in enumerate(zip(groups, sim, strict=True)):
            for k, leg in enumerate(g.legs):
                legs.append(
                    DcaLeg(
                        pyramid=pyramids[n * PYRAMIDS + k // LEGS],
                        group=row,
                        index=k % LEGS,
                        gap_percent=GAPS[k % LEGS],
                        weight_percent=Decimal(100) / LEGS,
                        tp_percent=leg.tp_percent,
                        price=leg.avg_fill_price,
                        qty=leg.open_qty,
                        filled_qty=leg.open_qty,
                        avg_fill_price=leg.avg_fill_price,
                        tp_price=leg.avg_fill_price * (1 + leg.tp_percent / 100),
                        state=LegState.FILLED,
                    )
                )
        DcaLeg.objects.bulk_create(legs, batch_size=2000)
        PaperPrice.objects.bulk_create(
            [PaperPrice(account=account, symbol=g.symbol, price=g.quiet_price, updated_at=now) for g in sim]
        )
        setup = time.perf_counter() - began
        print(
            f"\n## SQLite, in-process: {DB_GROUPS:,} groups, {len(legs):,} open legs "
            f"(bulk-created in {setup:.1f} s; {repeats} repeats)\n"
        )
        meter = CpuMeter(None)
        load_med, load_min, loaded = time_repeats(takeprofit.open_legs_by_group, repeats)
        ctx = EngineContext()
        # Writes the sweep makes (the price history's samples) are fenced like the engine's own.
        ctx.epoch = fencing.take_lease("bench", ctx.now())
        takeprofit.sweep(ctx)  # the first sweep after a start evaluates every market

        # The sweep only loads legs of markets whose price moved (or that had fills) since the
        # last sweep. Each timed sweep below is preceded (untimed) by moving the price of
        # `moved` markets by one tick, alternating down / back up: still below every TP.
        price_rows = list(PaperPrice.objects.filter(account=account).order_by("symbol"))
        tick_of = {g.symbol: g.tick for g in sim}
        rng = random.Random(seed)
        sweep_rows = []
        for moved in (0, DB_GROUPS // 100, DB_GROUPS // 10, DB_GROUPS):
            times, queries, sent_total, down = [], [], 0, True
            for _ in range(repeats + 1):  # the first is a warm-up
                if moved:
                    chosen = rng.sample(price_rows, moved)
                    for row in chosen:
                        row.price = (
                            row.price - tick_of[row.symbol] if down else row.price + tick_of[row.symbol]
                        )
                    PaperPrice.objects.bulk_update(chosen, ["price"], batch_size=500)
                    down = not down
                with CaptureQueriesContext(connection) as captured:
                    began = time.perf_counter()
                    sent = takeprofit.sweep(ctx)
                    elapsed = time.perf_counter() - began
                times.append(elapsed)
                queries.append(len(captured))
                sent_total += sent
            times, queries = times[1:], queries[1:]
            label = (
                "no price moved (steady state)"
                if moved == 0
                else f"{moved:,} of {DB_GROUPS:,} markets moved one tick"
            )
            sweep_rows.append(
                [
                    f"sweep() — {label}",
                    f"{statistics.median(times) * 1000:.1f}",
                    f"{min(times) * 1000:.1f}",
                    f"{statistics.median(queries):.0f} SQL queries, {sent_total} closes sent",
                ]
            )
        # The steady-state sweep's two parts: which markets are held, and their prices.
        held_med, held_min, held = time_repeats(
            lambda: set(
                PositionGroup.objects.filter(status__in=takeprofit.TP_STATUSES)
                .values_list("account_id", "symbol")
                .distinct()
            ),
            repeats,
        )
        fetch_med, fetch_min, fetched = time_repeats(lambda: price_feed.fetch(ctx, held), repeats)
        sweep_rows[1:1] = [
            [
                "  of which: held markets (one SELECT DISTINCT account, symbol over live groups)",
                f"{held_med * 1000:.1f}",
                f"{held_min * 1000:.1f}",
                f"{len(held):,} markets",
            ],
            [
                "  of which: price_feed.fetch() (paper: account + one PaperPrice query)",
                f"{fetch_med * 1000:.1f}",
                f"{fetch_min * 1000:.1f}",
                f"{len(fetched):,} prices",
            ],
        ]

        # All markets due (what the first sweep after a start does): forget what was evaluated.
        def full_sweep() -> int:
            ctx.evaluated_prices.clear()
            return takeprofit.sweep(ctx)

        full_med, full_min, full_sent = time_repeats(full_sweep, repeats)
        meter.stop()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM trading_dcaleg")
            (leg_rows,) = cursor.fetchone()
        print(
            markdown_table(
                ["step", "median ms", "min ms", "result"],
                [
                    [
                        "open_legs_by_group(None) — every open leg: query + OpenLeg objects",
                        f"{load_med * 1000:.1f}",
                        f"{load_min * 1000:.1f}",
                        f"{len(loaded):,} groups, {sum(map(len, loaded.values())):,} legs",
                    ],
                    *sweep_rows,
                    [
                        "sweep() — every market due (first sweep after a start; leg mode, nothing triggers)",
                        f"{full_med * 1000:.1f}",
                        f"{full_min * 1000:.1f}",
                        f"{full_sent} closes sent",
                    ],
                ],
            )
        )
        print(
            f"\n(trading_dcaleg holds {leg_rows:,} rows; sweep() runs every exchange.order_sync_interval_ms; "
            f"other processes used {meter.other:.2f} cores while timing)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--groups",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[100, 1000, 5000],
        help="group counts, comma-separated (default 100,1000,5000)",
    )
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats per case (default 9)")
    parser.add_argument("--seed", type=int, default=20240908, help="random seed (default 20240908)")
    parser.add_argument("--no-db", action="store_true", help="skip the SQLite part")
    args = parser.parse_args(argv)
    if any(not 1 <= g <= 20000 for g in args.groups) or not 1 <= args.repeats <= 100:
        parser.error("--groups values must be 1..20000 and --repeats 1..100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"# take-profit sweep — {PYRAMIDS} pyramids × {LEGS} legs per group, seed {args.seed}")
    pure_part(args.groups, args.repeats, args.seed)
    if not args.no_db:
        db_part(args.repeats, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
