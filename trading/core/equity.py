"""The equity curve: merging accounts, drawdown, daily returns, Sharpe and Sortino, downsampling and
compaction. Pure functions over plain points, Decimal throughout.

Equity here is PnL-based: `realised` is the cumulative realised PnL (net of fees) and `total` adds
the unrealised PnL of what is still open. Percent figures and returns are taken on `base + total`,
where `base` is the capital the curve starts from (the caller says which; see docs/api.md).

Sharpe and Sortino use daily returns of the total equity curve: the equity at the end of each UTC
calendar day (a day without points keeps the previous day's equity: crypto trades every day), each
day's return = close ÷ previous close − 1, the first day measured from the curve's first point.
Annualised with √365, risk-free rate 0:
- Sharpe = mean(r) ÷ sample standard deviation(r) × √365;
- Sortino = mean(r) ÷ downside deviation × √365, downside deviation = √(Σ min(r, 0)² ÷ n), target 0.
Both are None with fewer than two daily returns or a zero deviation (no variance, or no losing day
for Sortino).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from .analytics import TradeRecord

T = TypeVar("T")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
DAYS_PER_YEAR = 365
_ANNUALISE = Decimal(DAYS_PER_YEAR).sqrt()


@dataclass(frozen=True)
class EquityPoint:
    at: datetime  # aware UTC
    realised: Decimal
    total: Decimal  # realised + unrealised


def merge_accounts(series: Iterable[Sequence[EquityPoint]]) -> list[EquityPoint]:
    """One curve from several accounts' curves (each sorted by time): at every time any account has a
    point, the sum of each account's latest point so far (an account adds nothing before its first)."""
    curves = [points for points in series if points]
    if len(curves) == 1:
        return list(curves[0])
    tagged = sorted(
        ((p.at, i, p) for i, points in enumerate(curves) for p in points), key=lambda item: (item[0], item[1])
    )
    latest: dict[int, EquityPoint] = {}
    realised = total = _ZERO
    merged: list[EquityPoint] = []
    for at, index, point in tagged:
        previous = latest.get(index)
        if previous is not None:
            realised -= previous.realised
            total -= previous.total
        latest[index] = point
        realised += point.realised
        total += point.total
        if merged and merged[-1].at == at:
            merged[-1] = EquityPoint(at, realised, total)
        else:
            merged.append(EquityPoint(at, realised, total))
    return merged


def realised_curve(trades: Iterable[TradeRecord], start: Decimal = _ZERO) -> list[EquityPoint]:
    """Cumulative realised PnL after each trade (trades in any order; sorted by close time, then id).
    Unrealised PnL is unknown from trades alone, so `total` equals `realised`."""
    running = start
    points: list[EquityPoint] = []
    for trade in sorted(trades, key=lambda t: (t.closed_at, t.id)):
        running += trade.pnl
        if points and points[-1].at == trade.closed_at:
            points[-1] = EquityPoint(trade.closed_at, running, running)
        else:
            points.append(EquityPoint(trade.closed_at, running, running))
    return points


@dataclass(frozen=True)
class Drawdown:
    max_usd: Decimal  # the largest fall from a running peak, in USD (0 if never below a peak)
    max_percent: Decimal | None  # the largest fall relative to its peak, × 100
    current_usd: Decimal  # how far the last point is below the running peak
    current_percent: Decimal | None
    peak: Decimal | None  # the highest equity (base + total) seen; None without points


def drawdown_path(values: Sequence[Decimal]) -> list[tuple[Decimal, Decimal | None]]:
    """(USD below the running peak, percent below it) for each equity value; percent is None while
    the peak is not positive."""
    path: list[tuple[Decimal, Decimal | None]] = []
    peak: Decimal | None = None
    for value in values:
        peak = value if peak is None or value > peak else peak
        fall = peak - value
        path.append((fall, fall / peak * _HUNDRED if peak > 0 else None))
    return path


def drawdown(values: Sequence[Decimal]) -> Drawdown:
    """Max and current drawdown of an equity series (values already include the base)."""
    path = drawdown_path(values)
    if not path:
        return Drawdown(_ZERO, None, _ZERO, None, None)
    percents = [p for _, p in path if p is not None]
    return Drawdown(
        max_usd=max(fall for fall, _ in path),
        max_percent=max(percents) if percents else None,
        current_usd=path[-1][0],
        current_percent=path[-1][1],
        peak=max(values),
    )


def daily_closes(points: Sequence[EquityPoint], base: Decimal) -> list[tuple[date, Decimal]]:
    """Equity (base + total) at the end of every UTC day from the first point's day to the last's;
    a day without points repeats the previous close."""
    if not points:
        return []
    last_of_day: dict[date, Decimal] = {}
    for point in sorted(points, key=lambda p: p.at):
        last_of_day[point.at.date()] = base + point.total
    day, end = min(last_of_day), max(last_of_day)
    closes: list[tuple[date, Decimal]] = []
    while day <= end:
        closes.append((day, last_of_day.get(day, closes[-1][1] if closes else _ZERO)))
        day += timedelta(days=1)
    return closes


def daily_returns(points: Sequence[EquityPoint], base: Decimal) -> list[Decimal]:
    """Each UTC day's return, the first measured from the first point's equity. A day that starts
    at zero or negative equity has no defined return and is left out."""
    if not points:
        return []
    previous = base + min(points, key=lambda p: p.at).total
    returns: list[Decimal] = []
    for _, close in daily_closes(points, base):
        if previous > 0:
            returns.append(close / previous - 1)
        previous = close
    return returns


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, _ZERO) / len(values)


def sharpe_ratio(returns: Sequence[Decimal]) -> Decimal | None:
    """Annualised Sharpe ratio of daily returns: mean ÷ sample std × √365, risk-free 0."""
    if len(returns) < 2:
        return None
    mean = _mean(returns)
    variance = sum(((r - mean) ** 2 for r in returns), _ZERO) / (len(returns) - 1)
    if variance == 0:
        return None
    return mean / variance.sqrt() * _ANNUALISE


def sortino_ratio(returns: Sequence[Decimal]) -> Decimal | None:
    """Annualised Sortino ratio of daily returns: mean ÷ downside deviation (target 0, over all n
    days) × √365."""
    if len(returns) < 2:
        return None
    downside = sum((min(r, _ZERO) ** 2 for r in returns), _ZERO) / len(returns)
    if downside == 0:
        return None
    return _mean(returns) / downside.sqrt() * _ANNUALISE


def downsample(points: Sequence[T], max_points: int) -> list[T]:
    """At most `max_points` points: the last of every run of `ceil(n / max_points)`, plus the very
    last point, so the curve still ends where the equity is now."""
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    n = len(points)
    if n <= max_points:
        return list(points)
    step = -(-n // max_points)
    kept = [points[i] for i in range(step - 1, n, step)]
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def redundant_points(
    points: Sequence[tuple[int, datetime]], now: datetime, fine_for: timedelta = timedelta(days=7)
) -> list[int]:
    """Ids to drop when compacting one account's points: within `fine_for` of `now` one point per
    minute is kept, older one per hour — in each bucket the latest."""
    cutoff = now - fine_for
    kept: dict[tuple[bool, datetime], tuple[datetime, int]] = {}
    for point_id, at in points:
        old = at < cutoff
        bucket = (old, at.replace(minute=0 if old else at.minute, second=0, microsecond=0))
        current = kept.get(bucket)
        if current is None or (at, point_id) > current:
            kept[bucket] = (at, point_id)
    keep = {point_id for _, point_id in kept.values()}
    return sorted(point_id for point_id, _ in points if point_id not in keep)
