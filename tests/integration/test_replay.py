"""`manage.py replay`: hand-checked trades on a fixed candle + signal file, the live database
untouched, `--compare`, and clear errors for bad input.

The expected trades, by hand, from the default ladder (docs/configuration.md: gaps 0/-0.5/-1/-1.5/-2 %,
weights 20 % each, leg TPs 1/0.5/2/1.5/1 %), BTC/USDT rules (tick 0.01, step 0.00001) and the paper
fee of 0.1 % on each side. One 500 USDT long at 20000 → 100 USDT a leg:

    DCA0 20000 (marketable)  qty 100/20000 = 0.005          TP 20000 × 1.01  = 20200
    DCA1 19900               qty 100/19900 = 0.0050251… → 0.00502   TP 19900 × 1.005 = 19999.5
    DCA2 19800               qty 100/19800 = 0.0050505… → 0.00505   TP 19800 × 1.02  = 20196
    DCA3 19700               qty 100/19700 = 0.0050761… → 0.00507   TP 19700 × 1.015 = 19995.5
    DCA4 19600               qty 100/19600 = 0.0051020… → 0.00510   (never reached)

Candles (tests/fixtures/replay/BTC_USDT-1h.csv), walked open→low→high→close when bullish, else
open→high→low→close, points at :00 :15 :30 :45:
    00:00 20000/20010/19990/20000 bull  entry at 00:50 fills DCA0 at the last price, 20000
    01:00 bear → 19750 at 01:30: DCA1 and DCA2 fill at their limits
    02:00 bull → 20000 at 02:30: DCA1's TP (19999.5) → sell 0.00502 at 20000
    03:00 bull → 20199 at 03:30: DCA2's TP (20196) → sell 0.00505 at 20199 (DCA0's 20200 not yet)
    04:00 bull → 20300 at 04:30: DCA0's TP (20200) → sell 0.005 at 20300
    05:00 bear → 19650 at 05:30: DCA3 fills at 19700; the exit at 05:50 sells it at 19680

PnL = qty × (exit − entry) − 0.1 % × qty × entry − 0.1 % × qty × exit:
    DCA1: 0.00502 × 100 = 0.502     − (0.099898 + 0.1004)     = 0.301702
    DCA2: 0.00505 × 399 = 2.01495   − (0.09999 + 0.10200495)  = 1.81295505
    DCA0: 0.005 × 300   = 1.5       − (0.1 + 0.1015)          = 1.2985
    DCA3: 0.00507 × −20 = −0.1014   − (0.099879 + 0.0997776)  = −0.3010566
Net 3.11210045; 3 wins of 4 = 75 %; profit factor 3.41315705 / 0.3010566 = 11.34;
max drawdown 0.3010566 (the last trade, from the 3.41315705 peak).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "replay"
CANDLES = f"BTC/USDT={FIXTURES / 'BTC_USDT-1h.csv'}"

EXPECTED_TRADES = [
    # closed_at, reason, qty, entry, exit, pnl, fees
    ("2021-01-01T02:30:00+00:00", "tp_leg", "0.00502", "19900", "20000", "0.301702", "0.200298"),
    ("2021-01-01T03:30:00+00:00", "tp_leg", "0.00505", "19800", "20199", "1.81295505", "0.20199495"),
    ("2021-01-01T04:30:00+00:00", "tp_leg", "0.005", "20000", "20300", "1.2985", "0.2015"),
    ("2021-01-01T05:50:00+00:00", "exit", "0.00507", "19700", "19680", "-0.3010566", "0.1996566"),
]
EXPECTED_SUMMARY = {
    "trades": 4,
    "wins": 3,
    "losses": 1,
    "win_rate_percent": "75.00",
    "realised_pnl": "3.11",
    "fees": "0.80",
    "max_drawdown": "0.30",
    "profit_factor": "11.34",
}


def trades_of(out: Path) -> list[tuple[str, ...]]:
    with (out / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["symbol"], r["side"]) for r in rows} <= {("BTC/USDT", "long")}
    return [
        (r["closed_at"], r["reason"], r["qty"], r["entry_price"], r["exit_price"], r["pnl"], r["fees"])
        for r in rows
    ]


def replay(**options) -> str:
    stdout = StringIO()
    call_command("replay", stdout=stdout, stderr=StringIO(), **options)
    return stdout.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("signals", ["signals.csv", "signals.json"])
def test_replay_takes_the_hand_checked_trades(tmp_path: Path, signals: str) -> None:
    out = tmp_path / "out"
    printed = replay(signals=str(FIXTURES / signals), candles=[CANDLES], out=str(out))
    assert trades_of(out) == EXPECTED_TRADES
    report = json.loads((out / "report.json").read_text())
    assert {k: report["summary"][k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    assert report["signal_outcomes"] == {"applied": 2}
    assert report["price_points"] == 28  # 7 candles × 4 points
    with (out / "equity.csv").open() as fh:
        assert [row["equity"] for row in csv.DictReader(fh)] == [
            "10000.301702",
            "10002.11465705",
            "10003.41315705",
            "10003.11210045",
        ]
    assert "realised PnL" in printed and "3.11" in printed


@pytest.mark.django_db
def test_compare_prints_both_configs_side_by_side(tmp_path: Path) -> None:
    other = tmp_path / "wide.json"
    # One leg only: the whole 500 USDT at 20000, TP 1 % = 20200, reached at 04:30 (20300).
    other.write_text(
        json.dumps(
            {
                "grid_strategy": {
                    "dca_levels": [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "1"}]
                }
            }
        )
    )
    out = tmp_path / "out"
    printed = replay(
        signals=str(FIXTURES / "signals.csv"), candles=[CANDLES], out=str(out), compare=str(other)
    )
    header, *rows = printed.splitlines()
    assert header.split() == ["current", "config", "wide.json"]
    trades_row = next(r for r in rows if r.startswith("trades"))
    assert trades_row.split() == ["trades", "4", "1"]
    assert trades_of(out / "a") == EXPECTED_TRADES
    # 0.025 × 300 − (0.5 + 0.5075) = 7.5 − 1.0075 = 6.4925
    assert [t[5] for t in trades_of(out / "b")] == ["6.4925"]
    assert json.loads((out / "compare.json").read_text())["b"]["summary"]["trades"] == 1


@pytest.mark.django_db
def test_replay_reads_the_inbox_without_writing_to_it(tmp_path: Path) -> None:
    from trading import config_service
    from trading.core.webhook_payload import parse_signal
    from trading.models import Signal
    from trading.webhooks import accept

    # Two alerts through the real intake, as if received on 2021-01-01 (lag check off).
    config_service.update({"security": {"max_signal_lag_seconds": 0}}, source="test")
    for item in json.loads((FIXTURES / "signals.json").read_text()):
        received = datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")).astimezone(UTC)
        accept(parse_signal(item), item, config_service.current(), "127.0.0.1", received)
    before = counts()
    out = tmp_path / "out"
    replay(from_inbox=True, candles=[CANDLES], out=str(out), start="2021-01-01", end="2021-01-02")
    assert trades_of(out) == EXPECTED_TRADES
    assert counts() == before
    assert set(Signal.objects.values_list("status", flat=True)) == {"received"}


def counts() -> dict[str, int]:
    """Rows of every table of this project's apps."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("trading", "exchanges", "risk")
    }


@pytest.mark.django_db
def test_replay_writes_nothing_to_the_live_database(tmp_path: Path) -> None:
    before = counts()
    replay(signals=str(FIXTURES / "signals.csv"), candles=[CANDLES], out=str(tmp_path / "out"))
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"signals": "missing.csv", "candles": [CANDLES]}, "no such signal file"),
        (
            {"signals": str(FIXTURES / "signals.csv"), "candles": ["BTC/USDT=missing.csv"]},
            "no such candle file",
        ),
        (
            {"signals": str(FIXTURES / "signals.csv"), "candles": [str(FIXTURES / "README.md")]},
            "cannot tell the symbol",
        ),
        ({"signals": str(FIXTURES / "BTC_USDT-1h.csv"), "candles": [CANDLES]}, "CSV header must be"),
        ({"signals": str(FIXTURES / "signals.csv")}, "give --candles FILE .* or --fetch ACCOUNT"),
        ({"candles": [CANDLES]}, "give --signals FILE or --from-inbox"),
        (
            {"signals": str(FIXTURES / "signals.csv"), "candles": [CANDLES], "config": "nope.json"},
            "no such config",
        ),
        (
            {"signals": str(FIXTURES / "signals.csv"), "candles": [CANDLES], "start": "soon"},
            "not a timestamp",
        ),
    ],
)
def test_bad_input_is_a_command_error(tmp_path: Path, options: dict, reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        replay(out=str(tmp_path / "out"), **options)


def test_invalid_config_file_is_a_command_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "grid_strategy": {
                    "dca_levels": [{"gap_percent": "0", "weight_percent": "50", "tp_percent": "1"}]
                }
            }
        )
    )
    with pytest.raises(CommandError, match="invalid config"):
        replay(
            signals=str(FIXTURES / "signals.csv"), candles=[CANDLES], config=str(bad), out=str(tmp_path / "o")
        )


def _digest(path: Path) -> tuple[str, int] | None:
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.database_independent  # its `manage.py` runs without DATABASE_URL, on its own SQLite
def test_live_sqlite_file_is_untouched_and_bad_input_prints_no_traceback(tmp_path: Path) -> None:
    """A real install's data dir: the replay's parent reads it, nothing writes it (file hash and mtime)."""
    live = tmp_path / "live"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"ENGINE_DATA_DIR": str(live)}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True, cwd=ROOT)
    files = [live / "engine.sqlite3", live / "engine.sqlite3-wal", live / "config.json"]
    before = [_digest(f) for f in files]
    done = subprocess.run(
        [
            *manage,
            "replay",
            "--signals",
            str(FIXTURES / "signals.csv"),
            "--candles",
            CANDLES,
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # the progress bar
    assert [_digest(f) for f in files] == before
    assert trades_of(tmp_path / "out") == EXPECTED_TRADES

    bad = subprocess.run(
        [*manage, "replay", "--signals", str(FIXTURES / "README.md"), "--candles", CANDLES],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0
    assert "CSV header must be" in bad.stderr and "Traceback" not in bad.stderr
    assert [_digest(f) for f in files] == before


SAME_TRADES_EITHER_WAY = """
import json, os, sys, tempfile
sys.path.insert(0, {root!r})
os.environ.pop("DATABASE_URL", None)
os.environ["ENGINE_DATA_DIR"] = tempfile.mkdtemp(prefix="tv-replay-skip-")
os.environ["DJANGO_SETTINGS_MODULE"] = "engine_site.settings"
import django
django.setup()
from decimal import Decimal
from pathlib import Path
from trading.replay.candles import load_candles
from trading.replay.runner import Replay, timeline, trade_records
from trading.replay.signals import csv_payload, timed
candles = load_candles(Path({candles!r}))[:240]
signals = []
for n in range(2, 200, 30):
    at = candles[n].at.replace(minute=50).isoformat()
    row = dict(timestamp=at, symbol="BTCUSDT", timeframe="60", intent="signal", side="buy")
    payload = csv_payload(row | dict(price=str(candles[n].close), size="500"), "t")
    if {stop_below!r}:
        payload["risk"] = dict(stop_loss=str(candles[n].close * (1 - Decimal({stop_below!r}))))
    signals.append(timed(payload, "t"))
replay = Replay(candles[0].at, {config!r}, skip_inside={skip})
replay.run(timeline(dict([("BTC/USDT", candles)]), signals))
trades = [[str(t.closed_at), t.reason, str(t.qty), str(t.pnl)] for t in trade_records()]
print(json.dumps(dict(skipped=replay.skipped + replay.banded, banded=replay.banded, trades=trades)))
import shutil
from django.db import connection
connection.close()
shutil.rmtree(os.environ["ENGINE_DATA_DIR"], ignore_errors=True)
"""


@pytest.mark.database_independent  # the replay runs in a subprocess without DATABASE_URL
@pytest.mark.parametrize(
    "config, stop_below",
    [
        pytest.param(None, None, id="leg-tp"),
        pytest.param({"grid_strategy": {"tp_mode": "aggregate"}}, "0.03", id="aggregate-tp-with-stop-loss"),
        pytest.param(
            {"grid_strategy": {"tp_mode": "hybrid", "aggregate_tp_percent": "2"}}, None, id="hybrid"
        ),
    ],
)
def test_skipping_points_that_cross_no_trigger_changes_no_trade(
    config: dict | None, stop_below: str | None
) -> None:
    """The replay's shortcuts on open markets (docs/replay.md: the seen range and the quiet band between
    the nearest triggers) against pricing every point, in each take-profit mode and with a stop-loss."""
    bundled = ROOT / "exchanges" / "data" / "candles" / "BTC_USDT-1h.json"
    runs = []
    for skip in (True, False):
        code = SAME_TRADES_EITHER_WAY.format(
            root=str(ROOT), candles=str(bundled), skip=skip, config=config, stop_below=stop_below
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    with_skip, every_point = runs
    assert with_skip["banded"] > 0 and every_point["skipped"] == 0
    assert len(with_skip["trades"]) > 5
    assert with_skip["trades"] == every_point["trades"]
