"""How fast `manage.py replay` walks candles: price points replayed per second on 3 symbols.

Runs the replay in this process, exactly as the command's child does (a throw-away SQLite data dir,
the real engine, the paper exchange), on real Binance 1h candles (../shared/data/candles/binance_1h,
else the bundled BTC/USDT file for all three) with a deterministic mix of signals: an entry on each
symbol every `--every` hours at the candle's close, and an exit a day later.

    .venv/bin/python bench/replay_speed.py                    # 3 symbols × 1,500 candles
    .venv/bin/python bench/replay_speed.py --candles 5482     # the whole files

It prints the overall rate (what a user waits for) and the rate of the points the engine evaluated
(the rest lie on markets with nothing open, or inside a range already evaluated: see docs/replay.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.pop("DATABASE_URL", None)  # the replay's database is always a throw-away SQLite file
os.environ["ENGINE_DATA_DIR"] = tempfile.mkdtemp(prefix="tv-replay-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")

from _harness import figure, load_average  # noqa: E402

TARGET_POINTS_PER_SEC = 5000  # issue 14
SHARED = ROOT.parent / "shared" / "data" / "candles" / "binance_1h"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def candle_files() -> dict[str, Path]:
    bundled = ROOT / "exchanges" / "data" / "candles" / "BTC_USDT-1h.json"
    files = {}
    for symbol in SYMBOLS:
        shared = SHARED / f"{symbol.replace('/', '_')}-1h.json"
        files[symbol] = shared if shared.is_file() else bundled
    return files


def make_signals(candles: dict, every_hours: int) -> list[dict]:
    from trading.replay.signals import csv_payload, timed

    signals = []
    for offset, (symbol, rows) in enumerate(candles.items()):
        raw = symbol.replace("/", "")
        for n in range(offset * 7, len(rows) - 25, every_hours):
            at = rows[n].at + timedelta(minutes=50)  # after the candle's last point (:45)
            entry = {"timestamp": at.isoformat(), "symbol": raw, "timeframe": "60", "intent": "signal"}
            entry |= {"side": "buy", "price": str(rows[n].close), "size": "300"}
            signals.append(timed(csv_payload(entry, "bench"), "bench"))
            exit_at = (rows[n + 24].at + timedelta(minutes=50)).isoformat()
            leave = {"timestamp": exit_at, "symbol": raw, "timeframe": "60", "intent": "exit", "side": "sell"}
            signals.append(timed(csv_payload(leave | {"price": "", "size": ""}, "bench"), "bench"))
    return sorted(signals, key=lambda s: s["at"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candles", type=int, default=1500, help="candles per symbol (the files hold 5,482)")
    parser.add_argument("--every", type=int, default=72, help="hours between entries on one symbol")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from trading.replay.candles import load_candles
    from trading.replay.metrics import summary
    from trading.replay.runner import Replay, timeline, trade_records

    load_before = load_average()
    files = candle_files()
    candles = {symbol: load_candles(path)[: args.candles] for symbol, path in files.items()}
    signals = make_signals(candles, args.every)
    events = timeline(candles, signals)
    replay = Replay(events[0][0], None)
    cpu_before = time.process_time()
    started = time.monotonic()
    replay.run(events)
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_before
    evaluated = replay.points - replay.quiet - replay.skipped - replay.banded  # points the engine priced
    result = summary(trade_records(), Decimal(10000))
    rate = replay.points / wall
    print(
        f"replay speed, {time.strftime('%Y-%m-%d %H:%M')} UTC, load average {load_before} → {load_average()}"
    )
    print(f"  files: {', '.join(f'{s}: {p.name}' for s, p in files.items())}")
    print(
        f"  price points: {replay.points} ({len(candles)} symbols × {args.candles} candles × 4), signals: {len(signals)}"
    )
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"  points/s (wall): {rate:,.0f}; per CPU second: {replay.points / max(cpu, 1e-9):,.0f}")
    print(
        f"  priced by the engine: {evaluated}; nothing open: {replay.quiet}; inside a range already"
        f" evaluated: {replay.skipped}; inside the quiet band: {replay.banded}"
    )
    print(
        f"  trades: {result['trades']}, realised PnL {result['realised_pnl']}, win rate {result['win_rate_percent']} %"
    )
    figure(
        f"replay of {len(candles)} symbols × {args.candles} 1h candles",
        f"≥ {TARGET_POINTS_PER_SEC} points/s",
        f"{rate:,.0f} points/s",
        rate >= TARGET_POINTS_PER_SEC,
        load=load_before,
    )
    from django.db import connection

    connection.close()
    shutil.rmtree(os.environ["ENGINE_DATA_DIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
