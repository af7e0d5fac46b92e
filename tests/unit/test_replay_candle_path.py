"""The replay's candle path convention, candle/signal file parsing and event order (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from trading.replay.candles import Candle, InputError, load_candles, price_path, symbol_from_name
from trading.replay.metrics import format_summaries, summary
from trading.replay.runner import timeline
from trading.replay.signals import load_signals

D = Decimal
T0 = datetime(2021, 1, 1, tzinfo=UTC)


def candle(o: str, h: str, lo: str, c: str, at: datetime = T0) -> Candle:
    return Candle(at, D(o), D(h), D(lo), D(c))


def test_bullish_candle_walks_open_low_high_close() -> None:
    assert price_path(candle("100", "110", "95", "105")) == (D(100), D(95), D(110), D(105))


def test_bearish_candle_walks_open_high_low_close() -> None:
    assert price_path(candle("100", "110", "95", "97")) == (D(100), D(110), D(95), D(97))


def test_flat_candle_counts_as_bullish() -> None:
    """close == open: open→low→high→close."""
    assert price_path(candle("100", "110", "95", "100")) == (D(100), D(95), D(110), D(100))


def test_signal_comes_after_every_point_at_or_before_its_time() -> None:
    candles = {
        "BTC/USDT": [
            candle("1", "2", "1", "2", T0),
            candle("2", "3", "1", "1", T0.replace(hour=1)),
        ]
    }
    signal = {"at": T0.replace(minute=15).isoformat(), "payload": {}}
    events = timeline(candles, [signal])
    kinds = [(e[0].strftime("%H:%M"), e[1]) for e in events]
    # 4 points a candle at +0, +15, +30, +45 min; the 00:15 signal follows the 00:15 point.
    assert kinds[:3] == [("00:00", 0), ("00:15", 0), ("00:15", 1)]
    assert len(events) == 9


def test_freqtrade_json_and_csv_candles_load_alike(tmp_path: Path) -> None:
    json_file = tmp_path / "ETH_USDT-1h.json"
    json_file.write_text("[[1609459200000, 730.5, 740, 725.25, 735, 10]]")
    csv_file = tmp_path / "eth.csv"
    csv_file.write_text("timestamp,open,high,low,close,volume\n2021-01-01 00:00:00,730.5,740,725.25,735,10\n")
    assert load_candles(json_file) == load_candles(csv_file) == [candle("730.5", "740", "725.25", "735")]
    assert symbol_from_name(json_file.name) == "ETH/USDT"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("a.json", "not json", "not valid JSON"),
        ("a.json", "[]", "no candles"),
        ("a.json", "[[1609459200000, 1, 2]]", r"expected \[time, open"),
        ("a.csv", "time,o,h\n1,2,3\n", "CSV header needs"),
        ("a.csv", "timestamp,open,high,low,close\nyesterday,1,2,1,1\n", "is not a timestamp"),
        ("a.csv", "timestamp,open,high,low,close\n1609459200,1,2,1,abc\n", "is not a number"),
        ("a.csv", "timestamp,open,high,low,close\n1609459200,1,2,1.5,1\n", "low/high do not contain"),
    ],
)
def test_bad_candle_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=reason):
        load_candles(path)


def test_csv_signals_become_tradingview_alerts(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "timestamp,symbol,timeframe,intent,side,price,size\n"
        "2021-01-01T05:00:00Z,BTCUSDT,60,exit,sell,,\n"
        "2021-01-01T01:00:00Z,BTCUSDT,60,signal,buy,20000,500\n"
    )
    first, second = load_signals(path)
    assert first["at"] == "2021-01-01T01:00:00+00:00"  # sorted by time
    assert first["payload"]["tv"] == {
        "exchange": "BINANCE",
        "symbol": "BTCUSDT",
        "timeframe": "60",
        "entry_price": "20000",
        "order_size": "500",
    }
    assert second["payload"]["execution_intent"]["type"] == "exit"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("s.json", "{}", "expected a JSON list"),
        ("s.json", '[{"tv": {}}]', "not a valid alert"),
        ("s.csv", "when,what\n", "CSV header must be"),
        (
            "s.json",
            '[{"source": "tradingview", "tv": {"exchange": "BINANCE", "symbol": "BTCUSDT", "timeframe": "60"},'
            ' "execution_intent": {"type": "exit", "side": "sell"}}]',
            "has no timestamp",
        ),
    ],
)
def test_bad_signal_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=reason):
        load_signals(path)


def test_summary_prints_side_by_side() -> None:
    empty = summary([], D(10000))
    assert empty["trades"] == 0 and empty["profit_factor"] is None
    text = format_summaries([("a.json", empty), ("b.json", empty)])
    assert text.splitlines()[0].split() == ["a.json", "b.json"]
