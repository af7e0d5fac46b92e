"""Performance metrics of closed trades: pure functions over plain records, Decimal throughout.

No Django, no clock: callers pass the trades (and `now` where a period is relative to it). Money is
realised PnL net of both fees, as the engine books it in `Trade.realized_pnl`. A trade's return is
its PnL over its entry notional (qty × entry price), in percent. Periods are UTC calendar periods:
a week starts on Monday.

Edge cases, by rule rather than by accident:
- no trades: counts are 0, sums "0", every ratio (win rate, averages, RR, profit factor) is None;
- a win is PnL > 0, a loss PnL < 0; a trade at exactly 0 is neither (it counts in `trades` only);
- profit factor = gross profit ÷ |gross loss|: None when there is no loss (all wins: infinite, which
  JSON cannot carry; `profit_factor_infinite` says so) and None when there is nothing at all.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)

Period = Literal["day", "week", "month"]


@dataclass(frozen=True)
class TradeRecord:
    """One realised close, as the trades table holds it."""

    id: int
    closed_at: datetime  # aware UTC
    account: str
    symbol: str
    timeframe: str
    side: str  # long | short
    reason: str
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal  # net of entry and exit fees
    fees: Decimal

    @property
    def notional(self) -> Decimal:
        """Entry notional: what the closed quantity cost."""
        return self.qty * self.entry_price

    @property
    def volume(self) -> Decimal:
        """Traded notional of the round trip (entry plus exit)."""
        return self.qty * (self.entry_price + self.exit_price)

    @property
    def return_percent(self) -> Decimal | None:
        """PnL over entry notional × 100; None for a zero notional."""
        notional = self.notional
        return self.pnl / notional * _HUNDRED if notional else None


@dataclass(frozen=True)
class TradeStats:
    trades: int
    wins: int
    losses: int
    net_pnl: Decimal
    gross_profit: Decimal  # Σ PnL of wins
    gross_loss: Decimal  # Σ PnL of losses (zero or negative)
    fees: Decimal
    volume: Decimal
    win_rate: Decimal | None  # wins ÷ trades × 100
    avg_win: Decimal | None
    avg_loss: Decimal | None  # negative
    rr_ratio: Decimal | None  # avg win ÷ |avg loss|
    profit_factor: Decimal | None  # gross profit ÷ |gross loss|; None without a loss
    profit_factor_infinite: bool  # wins but no loss: the profit factor is ∞


def trade_stats(trades: Iterable[TradeRecord]) -> TradeStats:
    """Counts, sums and ratios of a set of trades (see the module docstring for the edge cases)."""
    count = wins = losses = 0
    net = profit = loss = fees = volume = _ZERO
    for trade in trades:
        count += 1
        net += trade.pnl
        fees += trade.fees
        volume += trade.volume
        if trade.pnl > 0:
            wins += 1
            profit += trade.pnl
        elif trade.pnl < 0:
            losses += 1
            loss += trade.pnl
    avg_win = profit / wins if wins else None
    avg_loss = loss / losses if losses else None
    return TradeStats(
        trades=count,
        wins=wins,
        losses=losses,
        net_pnl=net,
        gross_profit=profit,
        gross_loss=loss,
        fees=fees,
        volume=volume,
        win_rate=Decimal(wins) / count * _HUNDRED if count else None,
        avg_win=avg_win,
        avg_loss=avg_loss,
        rr_ratio=avg_win / -avg_loss if avg_win is not None and avg_loss is not None else None,
        profit_factor=profit / -loss if loss else None,
        profit_factor_infinite=wins > 0 and losses == 0,
    )


def breakdown(
    trades: Iterable[TradeRecord], key: Callable[[TradeRecord], Hashable]
) -> list[tuple[Hashable, TradeStats]]:
    """Stats per key (pair, timeframe, side …), best net PnL first, ties by key."""
    groups: dict[Hashable, list[TradeRecord]] = defaultdict(list)
    for trade in trades:
        groups[key(trade)].append(trade)
    rows = [(k, trade_stats(v)) for k, v in groups.items()]
    return sorted(rows, key=lambda row: (-row[1].net_pnl, str(row[0])))


def period_start(moment: datetime | date, period: Period) -> date:
    """The first UTC day of the day / week (Monday) / month holding `moment`."""
    day = moment.date() if isinstance(moment, datetime) else moment
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def pnl_by_period(trades: Iterable[TradeRecord], period: Period) -> list[tuple[date, Decimal, int]]:
    """(period start, net PnL, trades) per period that has trades, oldest first."""
    # Per UTC day first, then days into periods: a month of trades has ~30 days to place, not
    # thousands of trades (Decimal sums are exact, so the grouping order changes nothing).
    day_sums: dict[date, Decimal] = defaultdict(lambda: _ZERO)
    day_counts: dict[date, int] = defaultdict(int)
    for trade in trades:
        day = trade.closed_at.date()
        day_sums[day] += trade.pnl
        day_counts[day] += 1
    sums: dict[date, Decimal] = defaultdict(lambda: _ZERO)
    counts: dict[date, int] = defaultdict(int)
    for day, total in day_sums.items():
        start = period_start(day, period)
        sums[start] += total
        counts[start] += day_counts[day]
    return [(start, sums[start], counts[start]) for start in sorted(sums)]


@dataclass(frozen=True)
class RealisedTotals:
    day: Decimal
    week: Decimal
    month: Decimal
    all: Decimal


def realised_totals(trades: Iterable[TradeRecord], now: datetime) -> RealisedTotals:
    """Realised PnL of the current UTC day, week, month and of every trade given."""
    starts = {p: period_start(now, p) for p in ("day", "week", "month")}
    day = week = month = total = _ZERO
    for trade in trades:
        closed = trade.closed_at.date()
        total += trade.pnl
        if closed >= starts["month"]:
            month += trade.pnl
        if closed >= starts["week"]:
            week += trade.pnl
        if closed >= starts["day"]:
            day += trade.pnl
    return RealisedTotals(day=day, week=week, month=month, all=total)


def best_and_worst(trades: Sequence[TradeRecord], n: int = 10) -> tuple[list[TradeRecord], list[TradeRecord]]:
    """The `n` best trades by PnL (highest first) and the `n` worst (lowest first); ties by id.
    (`heapq.nsmallest` is `sorted(...)[:n]` without sorting all of them.)"""
    best = heapq.nsmallest(n, trades, key=lambda t: (-t.pnl, t.id))
    worst = heapq.nsmallest(n, trades, key=lambda t: (t.pnl, t.id))
    return best, worst


@dataclass(frozen=True)
class Bin:
    lower: Decimal  # inclusive
    upper: Decimal  # exclusive, except the last bin's
    count: int


def return_histogram(trades: Iterable[TradeRecord], bins: int = 20) -> list[Bin]:
    """Trade returns (%) in `bins` equal-width bins from the lowest to the highest return.

    No trades: no bins. Every return equal: one bin [r, r] holding them all.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    returns = [r for r in (t.return_percent for t in trades) if r is not None]
    if not returns:
        return []
    low, high = min(returns), max(returns)
    if low == high:
        return [Bin(low, high, len(returns))]
    width = (high - low) / bins
    counts = [0] * bins
    for value in returns:
        counts[min(int((value - low) / width), bins - 1)] += 1  # the maximum falls in the last bin
    edges = [low + width * i for i in range(bins)] + [high]
    return [Bin(edges[i], edges[i + 1], counts[i]) for i in range(bins)]


@dataclass(frozen=True)
class HeatCell:
    symbol: str
    timeframe: str
    net_pnl: Decimal
    trades: int


def pair_timeframe_heatmap(trades: Iterable[TradeRecord]) -> list[HeatCell]:
    """Net PnL per (pair, timeframe) that has trades, sorted by pair then timeframe."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: _ZERO)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for trade in trades:
        key = (trade.symbol, trade.timeframe)
        sums[key] += trade.pnl
        counts[key] += 1
    return [HeatCell(s, tf, sums[(s, tf)], counts[(s, tf)]) for s, tf in sorted(sums)]


@dataclass(frozen=True)
class DaySummary:
    day: date
    trades: int
    volume: Decimal
    net_pnl: Decimal
    best_symbol: str  # the symbol with the highest net PnL that day
    best_symbol_pnl: Decimal
    worst_symbol: str  # the lowest; the same as best when one symbol traded
    worst_symbol_pnl: Decimal


def daily_summary(trades: Iterable[TradeRecord]) -> list[DaySummary]:
    """One row per UTC day with trades, newest first; symbol ties break alphabetically."""
    by_day: dict[date, list[TradeRecord]] = defaultdict(list)
    for trade in trades:
        by_day[trade.closed_at.date()].append(trade)
    rows = []
    for day in sorted(by_day, reverse=True):
        day_trades = by_day[day]
        per_symbol: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        for trade in day_trades:
            per_symbol[trade.symbol] += trade.pnl
        ranked = sorted(per_symbol.items(), key=lambda item: (-item[1], item[0]))
        worst = min(per_symbol.items(), key=lambda item: (item[1], item[0]))
        rows.append(
            DaySummary(
                day=day,
                trades=len(day_trades),
                volume=sum((t.volume for t in day_trades), _ZERO),
                net_pnl=sum((t.pnl for t in day_trades), _ZERO),
                best_symbol=ranked[0][0],
                best_symbol_pnl=ranked[0][1],
                worst_symbol=worst[0],
                worst_symbol_pnl=worst[1],
            )
        )
    return rows
