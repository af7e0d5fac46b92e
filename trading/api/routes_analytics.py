"""Closed trades (filtered, sorted) and the analytics computed from them and the equity snapshots.

The numbers come from the pure cores (`trading.core.analytics`, `trading.core.equity`); this module
only reads rows and shapes answers.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from trading import config_service
from trading.core import analytics as metrics
from trading.core import equity as curves
from trading.reads import analytics as reads
from trading.reads import trades as trade_reads

from .analytics_schemas import MAX_EQUITY_POINTS, AnalyticsFilter, EquityOut, SummaryOut, TradeFilter
from .schemas import MAX_LIMIT, MAX_OFFSET, TradePage, page

router = Router(tags=["analytics"])


def _selection(filters: AnalyticsFilter) -> reads.Selection:
    """The validated filters as a Selection; an empty range or an unknown account is a 422 saying so."""
    try:
        return trade_reads.selection_of(
            filters.start, filters.end, filters.account, filters.symbol, filters.timeframe, filters.side
        )
    except trade_reads.BadSelection as exc:
        raise HttpError(422, str(exc)) from None


@router.get("/trades", response=TradePage, tags=["trades"])
def list_trades(
    request: HttpRequest,
    filters: Query[TradeFilter],
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Realised closes (leg TP, group TP, exit, reduce, reverse, risk, manual), P&L net of fees;
    newest first unless `sort` says otherwise (ties: newest first)."""
    rows = trade_reads.closed_trades(_selection(filters), filters.reason, filters.outcome, filters.sort)
    return page(rows, limit, offset)


def _stats(stats: metrics.TradeStats) -> dict[str, Any]:
    return asdict(stats)


def _brief(trade: metrics.TradeRecord) -> dict[str, Any]:
    return {**asdict(trade), "realized_pnl": trade.pnl, "return_percent": trade.return_percent}


def _periods(trades: list[metrics.TradeRecord], period: metrics.Period) -> list[dict[str, Any]]:
    return [{"start": s, "net_pnl": p, "trades": n} for s, p, n in metrics.pnl_by_period(trades, period)]


def _curve(
    selection: reads.Selection,
    *,
    realised: bool = True,
    trades: list[metrics.TradeRecord] | None = None,
) -> tuple[str, list[curves.EquityPoint]]:
    """The selection's equity curve: the snapshots, unless a market filter (or no snapshot yet)
    leaves only the realised curve of the selected trades to go on. `realised=False`: the totals
    are enough (snapshot points then carry no realised value). `trades`: the selection's trades,
    when the caller has already read them."""
    if not selection.by_market:
        points = reads.equity_points(selection, realised=realised)
        if points:
            return "snapshots", points
    if trades is None:
        trades = reads.trade_records(reads.trades(selection))
    return "trades", curves.realised_curve(trades, start=reads.realised_before(selection))


def _base(selection: reads.Selection) -> Decimal:
    return reads.capital_base(config_service.current(), len(reads.selected_accounts(selection)))


@router.get("/analytics/summary", response=SummaryOut)
def summary(
    request: HttpRequest,
    filters: Query[AnalyticsFilter],
    bins: int = Query(20, ge=1, le=200, description="bins of the trade-return histogram"),
) -> dict:
    """Performance of the selected closed trades, the unrealised PnL of the selected open groups,
    and drawdown, Sharpe and Sortino of the equity curve (daily returns, √365, risk-free 0)."""
    selection = _selection(filters)
    now = datetime.now(UTC)
    trades = reads.trade_records(reads.trades(selection))
    best, worst = metrics.best_and_worst(trades, 10)
    unrealised, unpriced = reads.unrealised_by_account(selection.where(None))
    source, points = _curve(selection, realised=False, trades=trades)  # drawdown and returns: totals
    base = _base(selection)
    dd = curves.drawdown([base + p.total for p in points])
    returns = curves.daily_returns(points, base)
    by_side = dict(metrics.breakdown(trades, lambda t: t.side))
    empty = metrics.trade_stats([])
    return {
        "start": selection.start,
        "end": selection.end,
        "generated_at": now,
        "realised": asdict(metrics.realised_totals(trades, now)),
        "unrealised": sum(unrealised.values(), Decimal(0)),
        "unpriced_groups": unpriced,
        "stats": _stats(metrics.trade_stats(trades)),
        "long": _stats(by_side.get("long", empty)),
        "short": _stats(by_side.get("short", empty)),
        "by_pair": [{"key": k, **_stats(s)} for k, s in metrics.breakdown(trades, lambda t: t.symbol)],
        "by_timeframe": [
            {"key": k, **_stats(s)} for k, s in metrics.breakdown(trades, lambda t: t.timeframe)
        ],
        "by_side": [{"key": k, **_stats(s)} for k, s in by_side.items()],
        "pnl_by_day": _periods(trades, "day"),
        "pnl_by_week": _periods(trades, "week"),
        "pnl_by_month": _periods(trades, "month"),
        "best": [_brief(t) for t in best],
        "worst": [_brief(t) for t in worst],
        "histogram": [asdict(b) for b in metrics.return_histogram(trades, bins)],
        "heatmap": [asdict(c) for c in metrics.pair_timeframe_heatmap(trades)],
        "daily": [asdict(d) for d in metrics.daily_summary(trades)],
        "risk": {
            "equity_source": source,
            "capital_base": base,
            "drawdown": asdict(dd),
            "daily_returns": len(returns),
            "sharpe": curves.sharpe_ratio(returns),
            "sortino": curves.sortino_ratio(returns),
        },
    }


@router.get("/analytics/equity", response=EquityOut)
def equity(
    request: HttpRequest,
    filters: Query[AnalyticsFilter],
    max_points: int = Query(MAX_EQUITY_POINTS, ge=1, le=MAX_EQUITY_POINTS),
) -> dict:
    """The equity curve (realised and total PnL, and the drawdown below the running peak of
    capital base + total), oldest first, thinned to at most `max_points` points."""
    selection = _selection(filters)
    source, points = _curve(selection)
    base = _base(selection)
    path = curves.drawdown_path([base + p.total for p in points])  # every point: the running peak
    # Thinned before the rows are built: a month of one-minute points answers 2,000 of them.
    kept = curves.downsample(list(zip(points, path, strict=True)), max_points)
    return {
        "source": source,
        "capital_base": base,
        "count": len(points),
        "points": [
            {
                "at": p.at,
                "realised": p.realised,
                "total": p.total,
                "drawdown_usd": usd,
                "drawdown_percent": pct,
            }
            for p, (usd, pct) in kept
        ],
    }
