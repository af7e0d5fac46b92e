"""Closed trades (filtered, sorted) and the analytics computed from them and the equity snapshots.

The numbers come from the pure cores (`trading.core.analytics`, `trading.core.equity`); this module
only reads rows and shapes answers.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from exchanges.models import ExchangeAccount
from trading import config_service
from trading.core import analytics as metrics
from trading.core import equity as curves
from trading.reads import analytics as reads

from .analytics_schemas import (
    MAX_EQUITY_POINTS,
    TRADE_SORTS,
    EquityOut,
    FromParam,
    OutcomeParam,
    ReasonParam,
    SideParam,
    SummaryOut,
    ToParam,
    TradeSort,
)
from .schemas import MAX_LIMIT, MAX_OFFSET, SymbolParam, TimeframeParam, TradePage, page

router = Router(tags=["analytics"])


def _selection(
    start: datetime | None,
    end: datetime | None,
    account: str | None,
    symbol: str | None,
    timeframe: str | None,
    side: str | None,
) -> reads.Selection:
    """The validated filters; a bad combination or an unknown account is a 422 saying so."""
    if start is not None and end is not None and start >= end:
        raise HttpError(422, "`from` must be before `to`")
    found = None
    if account:
        found = ExchangeAccount.objects.filter(label=account.strip()).first()
        if found is None:
            raise HttpError(422, f"unknown account {account.strip()[:40]!r}")
    return reads.Selection(start, end, found, symbol or None, timeframe or None, side)


@router.get("/trades", response=TradePage, tags=["trades"])
def list_trades(
    request: HttpRequest,
    start: Annotated[FromParam | None, Query(alias="from")] = None,
    end: Annotated[ToParam | None, Query(alias="to")] = None,
    account: str | None = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    side: SideParam | None = None,
    reason: ReasonParam | None = None,
    outcome: Annotated[OutcomeParam | None, Query(description="win: PnL above 0; loss: below 0")] = None,
    sort: Annotated[TradeSort, Query(description="a field, `-` first for descending")] = "-closed_at",
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Realised closes (leg TP, group TP, exit, reduce, reverse, risk, manual), P&L net of fees;
    newest first unless `sort` says otherwise (ties: newest first)."""
    selection = _selection(start, end, account, symbol, timeframe, side)
    rows = reads.trades(selection).select_related("account")
    if reason is not None:
        rows = rows.filter(reason=reason)
    if outcome == "win":
        rows = rows.filter(realized_pnl__gt=0)
    elif outcome == "loss":
        rows = rows.filter(realized_pnl__lt=0)
    descending = sort.startswith("-")
    field = TRADE_SORTS[sort.lstrip("-")]
    order = [f"-{field}" if descending else field]
    if field == "closed_at":
        order.append("-id" if descending else "id")
    elif field != "id":
        order += ["-closed_at", "-id"]  # ties: newest first
    return page(rows.order_by(*order), limit, offset)


def _stats(stats: metrics.TradeStats) -> dict[str, Any]:
    return asdict(stats)


def _brief(trade: metrics.TradeRecord) -> dict[str, Any]:
    return {**asdict(trade), "realized_pnl": trade.pnl, "return_percent": trade.return_percent}


def _periods(trades: list[metrics.TradeRecord], period: metrics.Period) -> list[dict[str, Any]]:
    return [{"start": s, "net_pnl": p, "trades": n} for s, p, n in metrics.pnl_by_period(trades, period)]


def _curve(selection: reads.Selection) -> tuple[str, list[curves.EquityPoint]]:
    """The selection's equity curve: the snapshots, unless a market filter (or no snapshot yet)
    leaves only the realised curve of the selected trades to go on."""
    if not selection.by_market:
        points = reads.equity_points(selection)
        if points:
            return "snapshots", points
    trades = reads.trade_records(reads.trades(selection))
    return "trades", curves.realised_curve(trades, start=reads.realised_before(selection))


def _base(selection: reads.Selection) -> Decimal:
    return reads.capital_base(config_service.current(), len(reads.selected_accounts(selection)))


@router.get("/analytics/summary", response=SummaryOut)
def summary(
    request: HttpRequest,
    start: Annotated[FromParam | None, Query(alias="from")] = None,
    end: Annotated[ToParam | None, Query(alias="to")] = None,
    account: str | None = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    side: SideParam | None = None,
    bins: int = Query(20, ge=1, le=200, description="bins of the trade-return histogram"),
) -> dict:
    """Performance of the selected closed trades, the unrealised PnL of the selected open groups,
    and drawdown, Sharpe and Sortino of the equity curve (daily returns, √365, risk-free 0)."""
    selection = _selection(start, end, account, symbol, timeframe, side)
    now = datetime.now(UTC)
    trades = reads.trade_records(reads.trades(selection))
    best, worst = metrics.best_and_worst(trades, 10)
    unrealised, unpriced = reads.unrealised_by_account(selection.where(None))
    source, points = _curve(selection)
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
    start: Annotated[FromParam | None, Query(alias="from")] = None,
    end: Annotated[ToParam | None, Query(alias="to")] = None,
    account: str | None = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    side: SideParam | None = None,
    max_points: int = Query(MAX_EQUITY_POINTS, ge=1, le=MAX_EQUITY_POINTS),
) -> dict:
    """The equity curve (realised and total PnL, and the drawdown below the running peak of
    capital base + total), oldest first, thinned to at most `max_points` points."""
    selection = _selection(start, end, account, symbol, timeframe, side)
    source, points = _curve(selection)
    base = _base(selection)
    path = curves.drawdown_path([base + p.total for p in points])
    rows = [
        {"at": p.at, "realised": p.realised, "total": p.total, "drawdown_usd": usd, "drawdown_percent": pct}
        for p, (usd, pct) in zip(points, path, strict=True)
    ]
    return {
        "source": source,
        "capital_base": base,
        "count": len(rows),
        "points": curves.downsample(rows, max_points),
    }
