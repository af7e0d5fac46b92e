"""Console render time with 1,000 live groups: server time per page, in-process, on SQLite.

Bulk-creates a realistic book in a temp data dir (G groups × 5 pyramids × 7 filled legs, a paper
price per symbol, a queue, the event log), then times each console page through Django's test client
(middleware, session, view, template: everything but the socket) and the live re-render a websocket
push does for the positions table. Target: < 300 ms per page.

    .venv/bin/python bench/console_render.py
    .venv/bin/python bench/console_render.py --groups 1000 --repeats 9
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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import figure, load_average, markdown_table  # noqa: E402

PYRAMIDS, LEGS = 5, 7
TIMEFRAMES = ("1", "5", "15", "60", "240", "1D", "3", "30", "120", "720")
GAPS = [Decimal(g) for g in ("0", "-0.5", "-1", "-1.5", "-2", "-2.5", "-3")]
TARGET_MS = 300


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm caches (templates, config) like a running server
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000, max(samples) * 1000


def _seed(groups: int, seed: int) -> dict[str, int]:
    from datetime import UTC, datetime, timedelta

    from exchanges.paper_models import PaperPrice
    from exchanges.registry import ensure_paper_account
    from trading.models import (
        DcaLeg,
        Event,
        GroupStatus,
        LegState,
        PositionGroup,
        Pyramid,
        QueueEntry,
        Signal,
    )

    rng = random.Random(seed)
    account = ensure_paper_account()
    now = datetime.now(UTC)
    symbols = [f"C{n:03d}/USDT" for n in range(groups // len(TIMEFRAMES) + 1)]
    bases = {s: Decimal(rng.choice(("0.05", "1.2", "14", "240", "2300", "43000"))) for s in symbols}
    rows = PositionGroup.objects.bulk_create(
        PositionGroup(
            account=account,
            symbol=symbols[n // len(TIMEFRAMES)],
            timeframe=TIMEFRAMES[n % len(TIMEFRAMES)],
            side="long",
            status=GroupStatus.ACTIVE,
            tp_mode="leg",
            aggregate_tp_percent=Decimal(1),
            pyramid_count=PYRAMIDS,
            opened_at=now - timedelta(minutes=n),
        )
        for n in range(groups)
    )
    pyramids = Pyramid.objects.bulk_create(
        Pyramid(
            group=g,
            index=p,
            base_price=bases[g.symbol],
            size_amount=Decimal(200),
            size_unit="quote",
            created_at=now,
        )
        for g in rows
        for p in range(PYRAMIDS)
    )
    legs = []
    for n, pyramid in enumerate(pyramids):
        base = pyramid.base_price
        for k in range(LEGS):
            price = (base * (1 + GAPS[k] / 100)).quantize(Decimal("0.0001"))
            qty = (Decimal(200) / LEGS / price).quantize(Decimal("0.00001"))
            legs.append(
                DcaLeg(
                    pyramid=pyramid,
                    group=rows[n // PYRAMIDS],
                    index=k,
                    gap_percent=GAPS[k],
                    weight_percent=Decimal(100) / LEGS,
                    tp_percent=Decimal(1),
                    price=price,
                    qty=qty,
                    filled_qty=qty,
                    avg_fill_price=price,
                    entry_fees=(qty * price / 1000).quantize(Decimal("0.00000001")),
                    tp_price=price * Decimal("1.01"),
                    state=LegState.FILLED,
                )
            )
    DcaLeg.objects.bulk_create(legs, batch_size=2000)
    PaperPrice.objects.bulk_create(
        PaperPrice(
            account=account,
            symbol=s,
            price=bases[s] * Decimal(rng.uniform(0.95, 1.02)).quantize(Decimal("0.001")),
            updated_at=now,
        )
        for s in symbols
    )
    signals = Signal.objects.bulk_create(
        Signal(
            received_at=now,
            payload={},
            fingerprint=f"{n:064x}",
            raw_symbol="Q",
            symbol=f"Q{n:02d}/USDT",
            timeframe="15",
            intent="signal",
            side="long",
            entry_price=Decimal(10),
            status="queued",
        )
        for n in range(20)
    )
    QueueEntry.objects.bulk_create(
        QueueEntry(
            signal=s,
            account=account,
            symbol=s.symbol,
            timeframe="15",
            side="long",
            entry_price=Decimal(10),
            size_amount=Decimal(200),
            size_unit="quote",
            expected_profit=Decimal(2),
            reason="pool_full",
            queued_at=now,
            updated_at=now,
        )
        for s in signals
    )
    Event.objects.bulk_create(
        Event(
            created_at=now,
            category=rng.choice(("order", "signal", "webhook")),
            severity="info",
            symbol=symbols[n % len(symbols)],
            timeframe="15",
            message=f"leg filled #{n}",
        )
        for n in range(5000)
    )
    return {"groups": len(rows), "legs": len(legs), "events": 5000, "queued": 20}


def run(groups: int, repeats: int, seed: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tv-console-bench-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ["ENGINE_DATA_DIR"] = str(tmp / "data")
    os.environ["XDG_DATA_HOME"] = os.environ["XDG_CONFIG_HOME"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.http import QueryDict
        from django.test import Client

        from dashboard.data.state import ViewState
        from dashboard.panels import render_changes
        from trading import config_service

        call_command("migrate", interactive=False, verbosity=0)
        config_service.ensure_initialised()
        config_service.update({"execution_pool": {"max_open_groups": groups}}, source="bench")
        began = time.perf_counter()
        counts = _seed(groups, seed)
        setup = time.perf_counter() - began
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-4711")
        client = Client()
        client.force_login(user)
        pages = [
            ("/  (dashboard: totals over every live group)", "/"),
            ("/positions/  (page 1 of 50 rows, newest first)", "/positions/"),
            ("/positions/?sort=pnl  (sorted by PnL over all groups)", "/positions/?sort=pnl&dir=asc"),
            ("/risk/  (every live group's loss, worst 200 shown)", "/risk/"),
            ("/queue/", "/queue/"),
            ("/logs/  (latest 200 of the log)", "/logs/"),
            ("/status/", "/status/"),
        ]
        table = []
        for label, url in pages:
            assert client.get(url).status_code == 200, url
            median_ms, max_ms = _time(lambda url=url: client.get(url), repeats)
            table.append(
                [label, f"{median_ms:.0f}", f"{max_ms:.0f}", "yes" if median_ms < TARGET_MS else "NO"]
            )
        view = ViewState(user=user, params=QueryDict("status=open"))
        for page, topics in (("positions", {"groups"}), ("overview", {"groups", "dashboard"})):
            median_ms, max_ms = _time(lambda p=page, t=topics: render_changes(p, view, set(t)), repeats)
            table.append(
                [
                    f"live push re-render: {page} ({', '.join(sorted(topics))})",
                    f"{median_ms:.0f}",
                    f"{max_ms:.0f}",
                    "yes" if median_ms < TARGET_MS else "NO",
                ]
            )
        print(
            f"# console render — {counts['groups']:,} live groups, {counts['legs']:,} filled legs, "
            f"{counts['events']:,} events, {counts['queued']} queued (seeded in {setup:.1f} s); "
            f"SQLite, {repeats} repeats\n"
        )
        print(markdown_table(["page", "median ms", "max ms", f"< {TARGET_MS} ms"], table))
        worst = max(table[: len(pages)], key=lambda row: float(row[1]))  # issue 10's baseline: 90 ms
        result = f"{worst[0].split()[0]} {worst[1]} ms median (max {worst[2]} ms)"
        figure(
            "console page server time, worst page",
            f"< {TARGET_MS} ms",
            result,
            float(worst[1]) < TARGET_MS,
            load=load_average(),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=1000, help="live groups (default 1000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per page (default 7)")
    parser.add_argument("--seed", type=int, default=20240908)
    args = parser.parse_args(argv)
    if not 1 <= args.groups <= 20000 or not 1 <= args.repeats <= 100:
        parser.error("--groups must be 1..20000 and --repeats 1..100")
    run(args.groups, args.repeats, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
