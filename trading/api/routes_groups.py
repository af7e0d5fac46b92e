"""Position groups: list, detail (pyramids → legs, orders), and the operator's close."""

from __future__ import annotations

from typing import Annotated

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from trading.core.takeprofit import tp_progress_percent
from trading.core.types import Side
from trading.models import DcaLeg, GroupStatus, Order, PositionGroup, Pyramid
from trading.models.groups import OPEN_STATUSES
from trading.reads.chart import group_chart
from trading.reads.filters import market_filter
from trading.reads.prices import last_price

from .chart_schemas import ChartOut
from .routes_commands import ACCEPTED_OR_404, enqueue
from .schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    ErrorOut,
    GroupDetailOut,
    GroupPage,
    GroupStatusFilter,
    SymbolParam,
    TimeframeParam,
    page,
)

router = Router(tags=["groups"])


def _groups() -> QuerySet[PositionGroup]:
    return PositionGroup.objects.select_related("account").prefetch_related("legs")


@router.get("/groups", response=GroupPage)
def list_groups(
    request: HttpRequest,
    status: Annotated[
        GroupStatusFilter | None, Query(description='a status, or "open" for every non-closed one')
    ] = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Position groups, newest first."""
    rows = _groups().order_by("-opened_at", "-id")
    if status == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif status is not None:
        rows = rows.filter(status=status)
    return page(rows.filter(market_filter(symbol, timeframe)), limit, offset)


@router.get("/groups/{group_id}", response={200: GroupDetailOut, 404: ErrorOut})
def get_group(request: HttpRequest, group_id: int) -> PositionGroup:
    """One group with its pyramids, their DCA legs (DCA0, DCA1, …) and every order it sent."""
    legs = Prefetch("legs", queryset=DcaLeg.objects.order_by("index"))
    pyramids = Prefetch("pyramids", queryset=Pyramid.objects.order_by("index").prefetch_related(legs))
    orders = Prefetch("orders", queryset=Order.objects.order_by("id"))
    group = _groups().prefetch_related(pyramids, orders).filter(pk=group_id).first()
    if group is None:
        raise HttpError(404, f"group #{group_id} not found")
    price = last_price(group.account_id, group.symbol)
    group.last_price = price  # type: ignore[attr-defined] - read by GroupDetailOut
    for pyramid in group.pyramids.all():
        for leg in pyramid.legs.all():
            progress = None
            if price is not None and leg.open_qty > 0 and leg.avg_fill_price and leg.tp_price:
                progress = tp_progress_percent(Side(group.side), leg.avg_fill_price, leg.tp_price, price)
            leg.tp_progress_percent = progress  # type: ignore[attr-defined] - read by LegOut
    return group


@router.get("/groups/{group_id}/chart", response={200: ChartOut, 404: ErrorOut})
def get_group_chart(request: HttpRequest, group_id: int) -> dict:
    """The group's market as the engine saw it (thinned received prices: `points`; cached venue
    candles: `candles`), with its DCA leg prices, take-profit targets, average entry and stop as
    `lines`, and its entries, fills, take-profits and exits as `markers`. Times in epoch seconds."""
    group = PositionGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise HttpError(404, f"group #{group_id} not found")
    return group_chart(group)


@router.post("/groups/{group_id}/close", response={**ACCEPTED_OR_404, 409: ErrorOut})
def close_group(request: HttpRequest, group_id: int) -> Status[dict]:
    """Ask the engine to cancel the group's orders and close its position at market."""
    status = PositionGroup.objects.filter(pk=group_id).values_list("status", flat=True).first()
    if status is None:
        raise HttpError(404, f"group #{group_id} not found")
    if status == GroupStatus.CLOSED:
        raise HttpError(409, f"group #{group_id} is already closed")
    return enqueue(request, "close_group", {"group_id": group_id})
