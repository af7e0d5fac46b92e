"""The /trades/ page: closed trades filtered, sorted and paginated, and the same list as CSV.

The filters are the API's own (`TradeFilter`, `GET /api/v1/trades`): one definition, read here
leniently — a bad value is dropped and said over the table, never an error page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from pydantic import ValidationError

from exchanges.models import ExchangeAccount
from trading.api.analytics_schemas import TradeFilter
from trading.api.schemas import decimal_text
from trading.models import Trade
from trading.reads.trades import REASON_LABELS, TRADE_SORTS, BadSelection, closed_trades, selection_of

from .grid import NO_GRID, Grid, grids_for
from .state import ViewState

PAGE_SIZE = 50
FILTER_FIELDS = ("from", "to", "account", "symbol", "timeframe", "side", "reason", "outcome")
CSV_FIELDS = (
    "id", "closed_at", "opened_at", "duration_sec", "account", "symbol", "timeframe", "side", "reason",
    "qty", "entry_price", "exit_price", "realized_pnl", "return_percent", "fees", "group_id",
)  # fmt: skip


@dataclass(frozen=True)
class TradeQuery:
    """What the page asked for, after validation: the filter, the console's sort and direction,
    the page number, and what was ignored and why."""

    filter: TradeFilter
    sort: str  # a TRADE_SORTS key
    dir: str  # asc | desc
    page: int
    problems: tuple[str, ...]

    @property
    def values(self) -> dict[str, Any]:
        """The filters as the form shows them (dates as given, blanks for none)."""
        f = self.filter
        return {
            "from": f.start.date().isoformat() if f.start else "",
            "to": _last_day(f.end),
            "account": f.account or "",
            "symbol": f.symbol or "",
            "timeframe": f.timeframe or "",
            "side": f.side or "",
            "reason": f.reason or "",
            "outcome": f.outcome or "",
            "sort": self.sort,
            "dir": self.dir,
        }


def _last_day(end: datetime | None) -> str:
    """The date a date picker shows for an exclusive end: a midnight end is the day before's end."""
    if end is None:
        return ""
    midnight = end.hour == end.minute == end.second == end.microsecond == 0
    return ((end - timedelta(days=1)) if midnight else end).date().isoformat()


def _sort_of(params: QueryDict) -> tuple[str, str]:
    sort = params.get("sort", "closed_at")
    direction = params.get("dir", "desc")
    return (
        sort if sort in TRADE_SORTS else "closed_at",
        direction if direction in ("asc", "desc") else "desc",
    )


def _lenient(raw: dict[str, str]) -> tuple[TradeFilter, list[str]]:
    """The filter from the values that validate, and one line per value dropped."""
    problems: list[str] = []
    while True:
        try:
            return TradeFilter.model_validate(raw), problems
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]} & raw.keys()
            if not bad:
                raise  # every field error names its field: nothing is left to drop
            for error in exc.errors():
                problems.append(f"{error['loc'][0]}: {error['msg'].removeprefix('Value error, ')}")
            raw = {name: value for name, value in raw.items() if name not in bad}


def read_query(params: QueryDict) -> TradeQuery:
    """The page's query string through the API's filter schema; each bad value is dropped with a
    line saying why (the rest still applies)."""
    raw = {name: params.get(name, "").strip() for name in FILTER_FIELDS}
    raw = {name: value for name, value in raw.items() if value}
    sort, direction = _sort_of(params)
    raw["sort"] = ("-" if direction == "desc" else "") + sort
    found, problems = _lenient(raw)
    try:
        page = max(1, min(int(params.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    return TradeQuery(found, sort, direction, page, tuple(problems))


def rows_for(query: TradeQuery) -> tuple[QuerySet[Trade], str]:
    """The matching trades in the asked order, or none and why the filters select nothing sensible
    (an empty date range, an unknown account)."""
    f = query.filter
    try:
        selection = selection_of(f.start, f.end, f.account, f.symbol, f.timeframe, f.side)
    except BadSelection as exc:
        return Trade.objects.none(), str(exc)
    return closed_trades(selection, f.reason, f.outcome, f.sort).select_related("group"), ""


@dataclass(frozen=True)
class TradeRow:
    trade: Trade
    grid: Grid
    reason_label: str
    duration: timedelta | None  # from the group's first entry to this close
    return_percent: Decimal | None  # PnL over the entry notional × 100


def _row(trade: Trade, grid: Grid) -> TradeRow:
    notional = trade.qty * trade.entry_price
    return TradeRow(
        trade=trade,
        grid=grid,
        reason_label=REASON_LABELS.get(trade.reason, trade.reason),
        duration=trade.closed_at - trade.group.opened_at,
        return_percent=trade.realized_pnl / notional * 100 if notional else None,
    )


def table(view: ViewState) -> dict:
    query = read_query(view.params)
    rows, problem = rows_for(query)
    problems = [*query.problems, problem] if problem else list(query.problems)
    page = Paginator(rows, PAGE_SIZE).get_page(query.page)
    trades = list(page.object_list)
    grids = grids_for((t.account_id, t.symbol, t.side) for t in trades)
    values = query.values
    return {
        "rows": [_row(t, grids.get((t.account_id, t.symbol), NO_GRID)) for t in trades],
        "page": page,
        "filters": values,
        "query": {k: v for k, v in values.items() if v},
        "filter_problems": problems,
        "filtering": any(values[name] for name in FILTER_FIELDS),
        "reasons": REASON_LABELS,
        "accounts": list(ExchangeAccount.objects.order_by("label").values_list("label", flat=True)),
    }


def csv_rows(params: QueryDict) -> Iterator[dict[str, Any]]:
    """Every trade the page's filters match, in its order, as CSV rows of exact values (no
    rounding: a spreadsheet gets what the database holds)."""
    rows, _ = rows_for(read_query(params))
    for trade in rows.iterator(chunk_size=1000):
        row = _row(trade, NO_GRID)
        yield {
            "id": trade.pk,
            "closed_at": trade.closed_at.isoformat(),
            "opened_at": trade.group.opened_at.isoformat(),
            "duration_sec": int(row.duration.total_seconds()) if row.duration is not None else "",
            "account": trade.account.label,
            "symbol": trade.symbol,
            "timeframe": trade.timeframe,
            "side": trade.side,
            "reason": trade.reason,
            "qty": decimal_text(trade.qty),
            "entry_price": decimal_text(trade.entry_price),
            "exit_price": decimal_text(trade.exit_price),
            "realized_pnl": decimal_text(trade.realized_pnl),
            "return_percent": "" if row.return_percent is None else decimal_text(row.return_percent),
            "fees": decimal_text(trade.fees),
            "group_id": trade.group_id,
        }
