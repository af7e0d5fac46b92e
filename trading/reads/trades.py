"""Closed trades as the API's `GET /trades` and the console's /trades/ page list them: one selection,
one reason / outcome filter, one order. Read only."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from exchanges.models import ExchangeAccount
from trading.models import Trade

from .analytics import Selection

# Sort keys of the list (API and console alike) → the column they order by.
TRADE_SORTS = {
    "closed_at": "closed_at",
    "pnl": "realized_pnl",
    "symbol": "symbol",
    "timeframe": "timeframe",
    "side": "side",
    "reason": "reason",
    "qty": "qty",
    "fees": "fees",
    "entry_price": "entry_price",
    "exit_price": "exit_price",
    "id": "id",
}


# What each close reason reads as (the trade history's Reason column, the chart's markers).
REASON_LABELS = {
    "tp_leg": "Leg TP",
    "tp_group": "Aggregate TP",
    "exit": "Exit signal",
    "reduce": "Reduce",
    "reverse": "Reverse",
    "risk": "Risk close",
    "manual": "Manual close",
}


class BadSelection(ValueError):
    """Filters that are each valid but select nothing sensible: an empty range, an unknown account."""


def selection_of(
    start: datetime | None,
    end: datetime | None,
    account: str | None,
    symbol: str | None,
    timeframe: str | None,
    side: str | None,
) -> Selection:
    """The validated filter values as a Selection; BadSelection says why they cannot be one."""
    if start is not None and end is not None and start >= end:
        raise BadSelection("`from` must be before `to`")
    found = None
    if account and account.strip():
        found = ExchangeAccount.objects.filter(label=account.strip()).first()
        if found is None:
            raise BadSelection(f"unknown account {account.strip()[:40]!r}")
    return Selection(start, end, found, symbol or None, timeframe or None, side or None)


def order_by_sort(sort: str) -> list[str]:
    """The ORDER BY of a sort key ("pnl", "-closed_at" …); ties always go newest first, then by id."""
    descending = sort.startswith("-")
    field = TRADE_SORTS[sort.lstrip("-")]
    order = [f"-{field}" if descending else field]
    if field == "closed_at":
        order.append("-id" if descending else "id")
    elif field != "id":
        order += ["-closed_at", "-id"]
    return order


def closed_trades(
    selection: Selection, reason: str | None = None, outcome: str | None = None, sort: str = "-closed_at"
) -> QuerySet[Trade]:
    """The selection's trades with their account, of one close reason and/or outcome (win: PnL
    above 0, loss: below 0), in the order `sort` names."""
    rows = Trade.objects.filter(selection.where("closed_at")).select_related("account")
    if reason:
        rows = rows.filter(reason=reason)
    if outcome == "win":
        rows = rows.filter(realized_pnl__gt=0)
    elif outcome == "loss":
        rows = rows.filter(realized_pnl__lt=0)
    return rows.order_by(*order_by_sort(sort))
