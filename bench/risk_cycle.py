"""Risk cycle cost: one `plan_risk_action` (PnL, eligibility, loser ranking, winner sizing) over the book.

Pure core, no Django: G live groups × 5 pyramids × 7 filled legs of `LegPosition` with seeded,
realistic Decimal prices and quantities (tick- and step-rounded, prices from 0.001 to 50,000 USDT,
200 USDT per pyramid, 0.1 % entry fees). Each group's price has moved −15 % … +10 % from its entry, so
about half the book is winning and a slice of it is past the −5 % threshold; 70 % of the groups have
all their pyramids, timers started 0-3 h ago, a few are blocked or skipped. The snapshots are built
once; `time.perf_counter` times the call alone, reporting the median and minimum of several repeats.

    .venv/bin/python bench/risk_cycle.py
    .venv/bin/python bench/risk_cycle.py --groups 100,1000 --repeats 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import figure, load_average, markdown_table  # noqa: E402

from risk.core import GroupSnapshot, LegPosition, RiskPlan, RiskSettings, plan_risk_action  # noqa: E402
from trading.core.types import MarketRules, Side  # noqa: E402

PYRAMIDS = 5
LEGS = 7
GAPS = [Decimal(g) for g in ("0", "-0.5", "-1", "-1.5", "-2", "-2.5", "-3")]
PYRAMID_QUOTE = Decimal(200)
FEE_RATE = Decimal("0.001")
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
TARGET_MS = 20


def build_groups(count: int, seed: int) -> list[GroupSnapshot]:
    """Seeded live groups of 5 pyramids × 7 filled legs; leg ids are unique across the book."""
    rng = random.Random(seed)
    groups: list[GroupSnapshot] = []
    leg_id = 0
    for g in range(count):
        side = Side.LONG if rng.random() < 0.7 else Side.SHORT
        sign = 1 if side is Side.LONG else -1  # DCA legs sit below a long's entry, above a short's
        price = Decimal(str(round(10 ** rng.uniform(-3, 4.7), 12)))
        magnitude = price.adjusted()
        tick = Decimal(1).scaleb(magnitude - 4)
        step = Decimal(1).scaleb(max(-8, min(0, -(magnitude + 3))))
        base = (price // tick) * tick
        legs = []
        for p in range(PYRAMIDS):
            drift = Decimal(str(round(rng.uniform(0, 1.5), 3))) * p / 100
            pyramid_base = (base * (1 - sign * drift) // tick) * tick
            for i in range(LEGS):
                fill = (pyramid_base * (1 + sign * GAPS[i] / 100) // tick) * tick
                qty = (PYRAMID_QUOTE / LEGS / fill).quantize(step, rounding=ROUND_DOWN)
                legs.append(
                    LegPosition(leg_id, qty, fill, (fill * qty * FEE_RATE).quantize(Decimal("0.00000001")))
                )
                leg_id += 1
        move = Decimal(str(round(rng.uniform(-15, 10), 3)))
        current = (base * (1 + move / 100) // tick) * tick
        full = rng.random() < 0.7
        groups.append(
            GroupSnapshot(
                group_id=g + 1,
                symbol=f"S{g:05d}/USDT",
                side=side,
                opened_at=NOW - timedelta(minutes=rng.randint(30, 3000)),
                pyramids_received=PYRAMIDS if full else rng.randint(1, PYRAMIDS - 1),
                timer_started_at=NOW - timedelta(minutes=rng.randint(0, 180)) if full else None,
                blocked=rng.random() < 0.02,
                skip_once=rng.random() < 0.01,
                price=current,
                legs=tuple(legs),
                rules=MarketRules(
                    f"S{g:05d}/USDT", tick_size=tick, step_size=step, min_qty=step, min_notional=Decimal(5)
                ),
            )
        )
    return groups


def time_repeats(
    groups: list[GroupSnapshot], settings: RiskSettings, repeats: int
) -> tuple[list[float], RiskPlan]:
    plan = plan_risk_action(groups, settings, NOW)  # untimed warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        plan = plan_risk_action(groups, settings, NOW)
        times.append(time.perf_counter() - began)
    return times, plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--groups",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[100, 1000, 5000],
        help="group counts, comma-separated (default 100,1000,5000)",
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per size (default 15)")
    parser.add_argument("--seed", type=int, default=20240908, help="random seed (default 20240908)")
    args = parser.parse_args(argv)
    if any(not 1 <= g <= 20000 for g in args.groups) or not 1 <= args.repeats <= 200:
        parser.error("--groups values must be 1..20000 and --repeats 1..200")

    settings = RiskSettings()  # the defaults
    rows = []
    for size in args.groups:
        groups = build_groups(size, args.seed)
        times, plan = time_repeats(groups, settings, args.repeats)
        med, low = statistics.median(times), min(times)
        eligible = sum(e.eligible for e in plan.evaluations)
        winners = sum(1 for e in plan.evaluations if e.unrealised_usd is not None and e.unrealised_usd > 0)
        rows.append(
            [
                f"{size:,}",
                f"{size * PYRAMIDS * LEGS:,}",
                f"{med * 1000:.2f}",
                f"{low * 1000:.2f}",
                f"{med / size * 1e6:.1f}",
                f"{eligible:,} / {winners:,}",
                f"{plan.action}, {len(plan.winners)} winner(s)",
                ("met" if med * 1000 < TARGET_MS else "NOT met") if size == 1000 else "",
            ]
        )
    print(
        f"# risk cycle — plan_risk_action over G groups × {PYRAMIDS} pyramids × {LEGS} legs, "
        f"seed {args.seed}, {args.repeats} repeats, Python {sys.version.split()[0]}\n"
    )
    print(
        markdown_table(
            [
                "groups",
                "open legs",
                "median ms",
                "min ms",
                "µs / group",
                "eligible losers / winners",
                "plan",
                f"target 1,000 < {TARGET_MS} ms",
            ],
            rows,
        )
    )
    for row in rows:
        if row[0] == "1,000":  # issue 10's baseline: 12.7 ms
            ok = float(row[2]) < TARGET_MS
            figure(
                "risk cycle, 1,000 groups × 35 legs",
                f"< {TARGET_MS} ms",
                f"{row[2]} ms",
                ok,
                load=load_average(),
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
