"""Trade metrics against values worked out by hand (every expected number is in the comments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.core.analytics import (
    Bin,
    HeatCell,
    TradeRecord,
    best_and_worst,
    breakdown,
    daily_summary,
    pair_timeframe_heatmap,
    period_start,
    pnl_by_period,
    realised_totals,
    return_histogram,
    trade_stats,
)

D = Decimal
# Wednesday 6 March 2024.
WED = datetime(2024, 3, 6, 10, 0, tzinfo=UTC)


def trade(
    n: int,
    pnl: str,
    *,
    at: datetime = WED,
    symbol: str = "BTC/USDT",
    timeframe: str = "15m",
    side: str = "long",
    qty: str = "1",
    entry: str = "100",
    exit: str = "101",
    fees: str = "0.2",
) -> TradeRecord:
    return TradeRecord(
        n, at, "paper", symbol, timeframe, side, "tp_leg", D(qty), D(entry), D(exit), D(pnl), D(fees)
    )


# Four trades of notional 100 each: +10, +20, -5, -15 → returns +10 %, +20 %, -5 %, -15 %.
BOOK = [
    trade(1, "10", symbol="BTC/USDT", timeframe="15m", side="long"),
    trade(2, "20", symbol="ETH/USDT", timeframe="1h", side="short", at=WED + timedelta(days=1)),
    trade(3, "-5", symbol="BTC/USDT", timeframe="1h", side="long", at=WED - timedelta(days=2)),
    trade(4, "-15", symbol="ETH/USDT", timeframe="15m", side="short", at=WED - timedelta(days=10)),
]


def test_stats_of_two_wins_and_two_losses() -> None:
    stats = trade_stats(BOOK)
    assert (stats.trades, stats.wins, stats.losses) == (4, 2, 2)
    assert stats.net_pnl == D("10")  # 10 + 20 - 5 - 15
    assert (stats.gross_profit, stats.gross_loss) == (D("30"), D("-20"))
    assert stats.win_rate == D("50")
    assert (stats.avg_win, stats.avg_loss) == (D("15"), D("-10"))
    assert stats.rr_ratio == D("1.5")  # 15 / 10
    assert stats.profit_factor == D("1.5")  # 30 / 20
    assert not stats.profit_factor_infinite
    assert stats.fees == D("0.8")
    assert stats.volume == D("804")  # 4 × 1 × (100 + 101)


def test_no_trades_have_counts_of_zero_and_no_ratios() -> None:
    stats = trade_stats([])
    assert (stats.trades, stats.wins, stats.losses, stats.net_pnl) == (0, 0, 0, D(0))
    assert stats.win_rate is stats.avg_win is stats.avg_loss is stats.rr_ratio is stats.profit_factor is None
    assert not stats.profit_factor_infinite
    assert return_histogram([]) == [] and daily_summary([]) == [] and pair_timeframe_heatmap([]) == []
    assert best_and_worst([]) == ([], [])


def test_all_wins_make_the_profit_factor_infinite_and_null() -> None:
    stats = trade_stats([trade(1, "3"), trade(2, "1")])
    assert stats.profit_factor is None and stats.profit_factor_infinite
    assert stats.win_rate == D("100") and stats.avg_loss is None and stats.rr_ratio is None


def test_one_trade() -> None:
    stats = trade_stats([trade(1, "-2.5")])
    assert (stats.win_rate, stats.avg_loss, stats.profit_factor) == (D("0"), D("-2.5"), D("0"))
    assert return_histogram([trade(1, "-2.5")]) == [Bin(D("-2.5"), D("-2.5"), 1)]


def test_a_trade_at_exactly_zero_is_neither_a_win_nor_a_loss() -> None:
    stats = trade_stats([trade(1, "0"), trade(2, "4")])
    assert (stats.trades, stats.wins, stats.losses, stats.win_rate) == (2, 1, 0, D("50"))


def test_breakdown_per_pair_timeframe_and_side_best_first() -> None:
    by_pair = [(k, s.net_pnl, s.trades) for k, s in breakdown(BOOK, lambda t: t.symbol)]
    assert by_pair == [("BTC/USDT", D("5"), 2), ("ETH/USDT", D("5"), 2)]  # tie: by name
    by_tf = [(k, s.net_pnl) for k, s in breakdown(BOOK, lambda t: t.timeframe)]
    assert by_tf == [("1h", D("15")), ("15m", D("-5"))]
    by_side = {k: (s.net_pnl, s.win_rate) for k, s in breakdown(BOOK, lambda t: t.side)}
    assert by_side == {"long": (D("5"), D("50")), "short": (D("5"), D("50"))}


def test_periods_are_utc_days_monday_weeks_and_months() -> None:
    assert period_start(WED, "week") == WED.date() - timedelta(days=2)  # Monday 4 March
    assert period_start(WED, "month") == WED.date().replace(day=1)
    weeks = pnl_by_period(BOOK, "week")
    # Sunday 25 Feb is in the week of Monday 19 Feb: -15; the week of 4 March: 10 + 20 - 5.
    assert [(str(s), p, n) for s, p, n in weeks] == [("2024-02-19", D("-15"), 1), ("2024-03-04", D("25"), 3)]
    months = pnl_by_period(BOOK, "month")
    assert [(str(s), p) for s, p, _ in months] == [("2024-02-01", D("-15")), ("2024-03-01", D("25"))]
    assert len(pnl_by_period(BOOK, "day")) == 4


def test_realised_today_this_week_this_month_and_all_time() -> None:
    totals = realised_totals(BOOK, now=WED + timedelta(days=1, hours=1))  # Thursday 7 March
    assert (totals.day, totals.week, totals.month, totals.all) == (D("20"), D("25"), D("25"), D("10"))


def test_best_and_worst_ten() -> None:
    many = [trade(i, str(i - 12)) for i in range(1, 25)]  # PnL -11 … +12
    best, worst = best_and_worst(many, 10)
    assert [t.pnl for t in best] == [D(v) for v in range(12, 2, -1)]
    assert [t.pnl for t in worst] == [D(v) for v in range(-11, -1)]
    assert [t.id for t in best_and_worst(BOOK, 2)[0]] == [2, 1]


def test_histogram_of_returns_in_equal_bins() -> None:
    # Returns -15, -5, +10, +20 over [-15, 20] in 5 bins of 7: [-15,-8) [-8,-1) [-1,6) [6,13) [13,20].
    bins = return_histogram(BOOK, 5)
    assert [(b.lower, b.upper, b.count) for b in bins] == [
        (D("-15"), D("-8"), 1),
        (D("-8"), D("-1"), 1),
        (D("-1"), D("6"), 0),
        (D("6"), D("13"), 1),
        (D("13"), D("20"), 1),
    ]
    with pytest.raises(ValueError):
        return_histogram(BOOK, 0)


def test_heatmap_of_pair_by_timeframe() -> None:
    assert pair_timeframe_heatmap(BOOK) == [
        HeatCell("BTC/USDT", "15m", D("10"), 1),
        HeatCell("BTC/USDT", "1h", D("-5"), 1),
        HeatCell("ETH/USDT", "15m", D("-15"), 1),
        HeatCell("ETH/USDT", "1h", D("20"), 1),
    ]


def test_daily_summary_newest_first_with_best_and_worst_symbol() -> None:
    day = [
        trade(1, "4", symbol="BTC/USDT"),
        trade(2, "-1", symbol="BTC/USDT"),
        trade(3, "-2", symbol="SOL/USDT", qty="2", entry="10", exit="9"),
        trade(4, "1", at=WED - timedelta(days=1)),
    ]
    rows = daily_summary(day)
    assert [str(r.day) for r in rows] == ["2024-03-06", "2024-03-05"]
    today = rows[0]
    assert (today.trades, today.net_pnl) == (3, D("1"))  # 4 - 1 - 2
    assert today.volume == D("201") * 2 + D("38")  # two BTC trades of 1 × (100 + 101), SOL 2 × 19
    assert (today.best_symbol, today.best_symbol_pnl) == ("BTC/USDT", D("3"))
    assert (today.worst_symbol, today.worst_symbol_pnl) == ("SOL/USDT", D("-2"))
    assert (rows[1].best_symbol, rows[1].worst_symbol) == ("BTC/USDT", "BTC/USDT")
