"""The /analytics/ page's tables (and its equity series) as CSV rows: exact decimal strings, the
same figures the page and the API show, for the same filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from trading.api.schemas import decimal_text

from . import analytics
from .state import ViewState

STATS = (
    "trades", "wins", "losses", "net_pnl", "gross_profit", "gross_loss", "fees", "volume", "win_rate",
    "avg_win", "avg_loss", "rr_ratio", "profit_factor", "profit_factor_infinite",
)  # fmt: skip
TRADE = (
    "id", "closed_at", "account", "symbol", "timeframe", "side", "reason", "qty", "entry_price", "exit_price",
    "realized_pnl", "return_percent", "fees",
)  # fmt: skip


def cell(value: Any) -> Any:
    """A CSV cell: decimals as exact plain strings, times in ISO 8601 (UTC), None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Table:
    fields: tuple[str, ...]
    rows: Callable[[analytics.AnalyticsQuery], Iterable[dict[str, Any]]]


def _summary(key: str) -> Callable[[analytics.AnalyticsQuery], Iterable[dict[str, Any]]]:
    """A list of the API's summary (an empty one when the filters select nothing sensible)."""
    return lambda query: (analytics.summary(query)[0] or {}).get(key, [])


def _allocation(query: analytics.AnalyticsQuery) -> Iterable[dict[str, Any]]:
    split = analytics.capital(query)
    return [vars(pair) for pair in split.pairs] if split is not None else []


TABLES: dict[str, Table] = {
    "pairs": Table(("key", *STATS), _summary("by_pair")),
    "timeframes": Table(("key", *STATS), _summary("by_timeframe")),
    "sides": Table(("key", *STATS), _summary("by_side")),
    "best": Table(TRADE, _summary("best")),
    "worst": Table(TRADE, _summary("worst")),
    "daily": Table(
        (
            "day",
            "trades",
            "volume",
            "net_pnl",
            "best_symbol",
            "best_symbol_pnl",
            "worst_symbol",
            "worst_symbol_pnl",
        ),
        _summary("daily"),
    ),
    "heatmap": Table(("symbol", "timeframe", "net_pnl", "trades"), _summary("heatmap")),
    "histogram": Table(("lower", "upper", "count"), _summary("histogram")),
    "allocation": Table(("symbol", "deployed", "resting", "groups", "share_percent"), _allocation),
}
EQUITY_FIELDS = ("at", "realised", "total", "drawdown_usd", "drawdown_percent")


def rows(table: str, view: ViewState) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The header and rows of one table (or of the equity series) for the view's filters."""
    query = analytics.read_query(view.params)
    if table == "equity":
        return EQUITY_FIELDS, [{f: cell(p[f]) for f in EQUITY_FIELDS} for p in analytics.equity(query)]
    spec = TABLES[table]
    return spec.fields, [{f: cell(row.get(f)) for f in spec.fields} for row in spec.rows(query)]
