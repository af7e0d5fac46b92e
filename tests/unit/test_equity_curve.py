"""Drawdown, Sharpe and Sortino against an independent float computation on a fixed series, plus
merging accounts, downsampling and compaction of the equity curve."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

import pytest

from trading.core.analytics import TradeRecord
from trading.core.equity import (
    EquityPoint,
    daily_closes,
    daily_returns,
    downsample,
    drawdown,
    drawdown_path,
    merge_accounts,
    realised_curve,
    redundant_points,
    sharpe_ratio,
    sortino_ratio,
)

D = Decimal
DAY0 = datetime(2024, 3, 1, tzinfo=UTC)
BASE = D("1000")
# Total PnL at the end of 10 consecutive days (equity = 1000 + these).
TOTALS = ["0", "25", "10", "-40", "-15", "30", "55", "20", "70", "62.5"]


def curve(totals: list[str] = TOTALS, hour: int = 23) -> list[EquityPoint]:
    return [EquityPoint(DAY0 + timedelta(days=i, hours=hour), D(t), D(t)) for i, t in enumerate(totals)]


def reference_returns(values: list[float]) -> list[float]:
    return [b / a - 1 for a, b in zip(values, values[1:], strict=False)]


def test_drawdown_matches_a_running_maximum_computed_apart() -> None:
    values = [float(BASE + D(t)) for t in TOTALS]
    peaks = list(accumulate(values, max))
    falls = [p - v for p, v in zip(peaks, values, strict=True)]
    pct = [(p - v) / p * 100 for p, v in zip(peaks, values, strict=True)]

    dd = drawdown([BASE + D(t) for t in TOTALS])
    assert float(dd.max_usd) == pytest.approx(max(falls)) == 65.0  # 1025 → 960
    assert float(dd.max_percent) == pytest.approx(max(pct))  # 65 / 1025
    assert float(dd.current_usd) == pytest.approx(falls[-1]) == 7.5  # 1070 → 1062.5
    assert float(dd.current_percent) == pytest.approx(pct[-1])
    assert dd.peak == D("1070")


def test_sharpe_and_sortino_match_a_float_computation_written_apart() -> None:
    # The first point is the start of day 0, so day 0 has a return too (0 → 0: none).
    closes = [1000.0] + [float(BASE + D(t)) for t in TOTALS]
    returns = reference_returns(closes)
    mean = statistics.mean(returns)
    sharpe = mean / statistics.stdev(returns) * math.sqrt(365)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    sortino = mean / downside * math.sqrt(365)

    points = [EquityPoint(DAY0, D(0), D(0)), *curve()]
    ours = daily_returns(points, BASE)
    assert [float(r) for r in ours] == pytest.approx(returns)
    assert float(sharpe_ratio(ours)) == pytest.approx(sharpe, rel=1e-9)
    assert float(sortino_ratio(ours)) == pytest.approx(sortino, rel=1e-9)


def test_ratios_need_two_returns_and_some_variance() -> None:
    assert sharpe_ratio([]) is None and sortino_ratio([D("0.01")]) is None
    flat = [D("0.01")] * 5
    assert sharpe_ratio(flat) is None  # zero variance
    assert sortino_ratio(flat) is None  # no losing day: no downside deviation
    assert sharpe_ratio([D(0)] * 3) is None


def test_a_day_without_points_keeps_the_previous_close() -> None:
    points = [
        EquityPoint(DAY0 + timedelta(hours=1), D(0), D("10")),
        EquityPoint(DAY0 + timedelta(days=2, hours=5), D(0), D("-20")),
        EquityPoint(DAY0 + timedelta(days=2, hours=6), D(0), D("-30")),
    ]
    closes = daily_closes(points, BASE)
    assert [(str(d), v) for d, v in closes] == [
        ("2024-03-01", D("1010")),
        ("2024-03-02", D("1010")),
        ("2024-03-03", D("970")),
    ]
    assert daily_returns(points, BASE) == [D(0), D(0), D("970") / D("1010") - 1]


def test_drawdown_of_nothing_and_of_a_non_positive_peak() -> None:
    empty = drawdown([])
    assert (empty.max_usd, empty.max_percent, empty.peak) == (D(0), None, None)
    assert drawdown_path([D("0"), D("-5")]) == [(D(0), None), (D(5), None)]


def test_merging_accounts_sums_each_accounts_latest_point() -> None:
    t = [DAY0 + timedelta(minutes=m) for m in range(3)]
    a = [EquityPoint(t[0], D("1"), D("2")), EquityPoint(t[2], D("3"), D("3"))]
    b = [EquityPoint(t[1], D("10"), D("5")), EquityPoint(t[2], D("10"), D("6"))]
    assert merge_accounts([a, b]) == [
        EquityPoint(t[0], D("1"), D("2")),
        EquityPoint(t[1], D("11"), D("7")),
        EquityPoint(t[2], D("13"), D("9")),
    ]


def test_realised_curve_from_trades_in_close_order() -> None:
    def rec(n: int, minute: int, pnl: str) -> TradeRecord:
        at = DAY0 + timedelta(minutes=minute)
        return TradeRecord(n, at, "paper", "BTC/USDT", "15m", "long", "exit", D(1), D(1), D(1), D(pnl), D(0))

    points = realised_curve([rec(2, 5, "-1"), rec(1, 1, "4"), rec(3, 5, "2")], start=D("10"))
    assert [(p.at.minute, p.realised, p.total) for p in points] == [
        (1, D("14"), D("14")),
        (5, D("15"), D("15")),
    ]


def test_downsampling_keeps_at_most_the_limit_and_the_last_point() -> None:
    series = list(range(4999))
    thinned = downsample(series, 2000)
    assert len(thinned) <= 2000 and thinned[-1] == 4998
    assert downsample(series[:10], 2000) == series[:10]
    assert downsample(list(range(7)), 3) == [2, 5, 6]
    with pytest.raises(ValueError):
        downsample(series, 0)


def test_compaction_keeps_one_point_a_minute_for_a_week_then_one_an_hour() -> None:
    now = DAY0 + timedelta(days=30)
    recent = now - timedelta(days=1)
    old = now - timedelta(days=20)
    points = [
        (1, recent),
        (2, recent + timedelta(seconds=20)),
        (3, recent + timedelta(seconds=40)),  # the minute's last: kept
        (4, recent + timedelta(minutes=1)),  # next minute: kept
        (5, old + timedelta(minutes=1)),
        (6, old + timedelta(minutes=59)),  # the hour's last: kept
        (7, old + timedelta(hours=1)),  # next hour: kept
    ]
    assert redundant_points(points, now) == [1, 2, 5]
    assert redundant_points([], now) == []
