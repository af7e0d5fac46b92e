"""Section B: the positions table (sortable, filterable, paginated) and each group's legs."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet

from trading import config_service
from trading.core.takeprofit import tp_progress_percent
from trading.core.types import Side
from trading.models import DcaLeg, GroupStatus, LegState, PositionGroup
from trading.models.groups import OPEN_STATUSES
from trading.reads.filters import symbol_search

from ..commands import pending_labels
from ..forms import POSITION_SORTS, PositionFilter, position_filter, position_filter_problems
from .grid import NO_GRID, Grid, grids_for
from .metrics import Exits, GroupFigures, exits_for, figures_for, groups_with_account
from .state import ViewState

PAGE_SIZE = 50
EXPANDED_KEY = "console_expanded_groups"
MAX_EXPANDED = 20
_DB_SORTS = {
    "opened": ("opened_at", "id"),
    "symbol": ("symbol", "timeframe", "id"),
    "side": ("side", "id"),
    "status": ("status", "id"),
    "pyramids": ("pyramid_count", "id"),
    "tp": ("tp_mode", "id"),
}


@dataclass
class LegRow:
    pyramid: int
    label: str
    state: str
    state_label: str
    limit_price: Decimal
    fill_price: Decimal | None
    weight: Decimal
    tp_percent: Decimal
    tp_price: Decimal | None
    progress: Decimal | None
    filled_quote: Decimal
    filled_qty: Decimal
    qty: Decimal


@dataclass
class PositionRow:
    group: PositionGroup
    fig: GroupFigures
    pending: list[str] = field(default_factory=list)
    expanded: bool = False
    legs: list[LegRow] = field(default_factory=list)
    grid: Grid = NO_GRID
    exits: Exits | None = None  # take-profits and closes so far

    @property
    def closed(self) -> bool:
        return self.group.status == GroupStatus.CLOSED

    @property
    def realised(self) -> Decimal | None:
        """Realised PnL when there is any (closed, or legs that took profit), else None."""
        if self.closed or self.exits is not None or self.group.realized_pnl:
            return self.group.realized_pnl
        return None


def expanded_ids(session_key: str | None) -> list[int]:
    """Rows the user expanded (kept in the session, so a live re-render keeps them open)."""
    if not session_key:
        return []
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return list(store.get(EXPANDED_KEY, []))


def set_expanded(session: Any, group_id: int, expanded: bool) -> None:
    ids = [i for i in session.get(EXPANDED_KEY, []) if i != group_id]
    if expanded:
        ids = [group_id, *ids][:MAX_EXPANDED]
    session[EXPANDED_KEY] = ids


def legs_for(group: PositionGroup, price: Decimal | None) -> list[LegRow]:
    rows = []
    legs = DcaLeg.objects.filter(group=group).select_related("pyramid").order_by("pyramid__index", "index")
    for leg in legs:
        progress = None
        if price is not None and leg.open_qty > 0 and leg.avg_fill_price and leg.tp_price:
            progress = tp_progress_percent(Side(group.side), leg.avg_fill_price, leg.tp_price, price)
        elif leg.state == LegState.HIT_TP:
            progress = Decimal(100)
        rows.append(
            LegRow(
                pyramid=leg.pyramid.index,
                label=f"P{leg.pyramid.index}·DCA{leg.index}",
                state=leg.state,
                state_label=leg.get_state_display(),
                limit_price=leg.price,
                fill_price=leg.avg_fill_price,
                weight=leg.weight_percent,
                tp_percent=leg.tp_percent,
                tp_price=leg.tp_price,
                progress=progress,
                filled_quote=(leg.filled_qty * leg.avg_fill_price) if leg.avg_fill_price else Decimal(0),
                filled_qty=leg.filled_qty,
                qty=leg.qty,
            )
        )
    return rows


def _filtered(f: dict[str, Any]) -> QuerySet[PositionGroup]:
    rows = groups_with_account()
    if f["status"] == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif f["status"] != "all":
        rows = rows.filter(status=f["status"])
    if f["side"]:
        rows = rows.filter(side=f["side"])
    if f["q"]:
        rows = rows.filter(symbol_search(f["q"]))  # "BTCUSDT", "BINANCE:BTCUSDT.P", "btc": BTC/USDT
    if f["timeframe"]:
        rows = rows.filter(timeframe=f["timeframe"])
    return rows


@dataclass(frozen=True)
class _Key:
    """The few columns a computed sort needs (not whole rows: 1,000 of them must stay cheap)."""

    pk: int
    side: str
    account_id: int
    symbol: str
    status: str
    realized_pnl: Decimal


def _computed_key(sort: str, group: _Key, fig: GroupFigures) -> Any:
    """The value a computed column sorts by; None (no price, nothing open) always sorts last."""
    if sort == "pnl":
        if fig.unrealised is not None:
            return fig.unrealised
        return None if group.status != GroupStatus.CLOSED else group.realized_pnl
    if sort == "pnl_pct":
        return fig.unrealised_pct
    if sort == "entry":
        return fig.avg_entry
    return (fig.legs_filled, fig.legs_total)  # dca


def _sorted_ids(keys: list[_Key], figs: dict[int, GroupFigures], sort: str, descending: bool) -> list[int]:
    keyed = [(_computed_key(sort, k, figs[k.pk]), k.pk) for k in keys]
    present = sorted((k for k in keyed if k[0] is not None), key=lambda k: k[0], reverse=descending)
    return [pk for _, pk in present] + [pk for value, pk in keyed if value is None]


def table(view: ViewState) -> dict:
    f = position_filter(view.params)
    rows = _filtered(f)
    descending = f["dir"] == "desc"
    if f["sort"] in _DB_SORTS:
        order = [("-" if descending else "") + name for name in _DB_SORTS[f["sort"]]]
        paginator = Paginator(rows.order_by(*order), PAGE_SIZE)
        page = paginator.get_page(f["page"])
        groups = list(page.object_list)
        figs = figures_for(groups)
    else:
        keys = [_Key(*values) for values in rows.values_list(*(name for name in _Key.__dataclass_fields__))]
        figs = figures_for(keys, open_only=f["status"] == "open")
        paginator = Paginator(_sorted_ids(keys, figs, f["sort"], descending), PAGE_SIZE)
        page = paginator.get_page(f["page"])
        by_id = rows.in_bulk(list(page.object_list))
        groups = [by_id[pk] for pk in page.object_list]
    pending = pending_labels()
    expanded = set(expanded_ids(view.session_key))
    grids = grids_for((g.account_id, g.symbol, g.side) for g in groups)
    exits = exits_for(groups)
    out = []
    for group in groups:
        row = PositionRow(group, figs[group.pk], pending.get(("group_id", group.pk), []))
        row.grid, row.exits = grids[(group.account_id, group.symbol)], exits.get(group.pk)
        if group.pk in expanded:
            row.expanded, row.legs = True, legs_for(group, row.fig.price)
        out.append(row)
    return {
        "rows": out,
        "page": page,
        "filters": f,
        "filter_problems": position_filter_problems(view.params),
        "sorts": POSITION_SORTS,
        "status_choices": PositionFilter.base_fields["status"].choices,
        "max_pyramids": max_pyramids(),
        "can_act": view.can_act,
        "query": _query(f),
    }


def max_pyramids() -> int:
    return config_service.current().grid_strategy.max_pyramids_per_group


def _query(f: dict[str, Any]) -> dict[str, Any]:
    """The filter as query parameters (without page), for sort and page links."""
    return {k: v for k, v in f.items() if k != "page" and v not in ("", None)}


def group_row(view: ViewState, group: PositionGroup, expanded: bool) -> PositionRow:
    fig = figures_for([group])[group.pk]
    row = PositionRow(group, fig, pending_labels().get(("group_id", group.pk), []), expanded)
    row.grid = grids_for([(group.account_id, group.symbol, group.side)])[(group.account_id, group.symbol)]
    row.exits = exits_for([group]).get(group.pk)
    if expanded:
        row.legs = legs_for(group, fig.price)
    return row
