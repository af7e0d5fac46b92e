"""The group chart's data: the market's recorded prices around the group's life, and the lines and
markers of its pyramids (core.chart). Read only: prices come from what the engine recorded (paper
and live alike), never from a venue."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchanges.models import MarketRule
from trading.core.chart import (
    ChartLeg,
    Marker,
    chart_lines,
    fallback_tick,
    leg_label,
    sorted_markers,
    trade_marker_kind,
)
from trading.core.clientid import Purpose
from trading.core.equity import downsample
from trading.core.types import Side, TpMode
from trading.models import CachedCandle, DcaLeg, Order, PositionGroup, PriceSample, Trade
from trading.reads.trades import REASON_LABELS

MAX_POINTS = 2000
# Price before the first entry and after the close, so the chart shows where the group came from.
CONTEXT = timedelta(minutes=30)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _legs(group: PositionGroup) -> list[ChartLeg]:
    rows = DcaLeg.objects.filter(group=group).order_by("pyramid__index", "index")
    return [
        ChartLeg(
            pyramid=pyramid,
            index=index,
            state=state,
            price=price,
            open_qty=filled - closed,
            avg_fill_price=avg,
            tp_percent=tp_percent,
            tp_price=tp_price,
            pyramid_tp=pyramid_tp,
        )
        for pyramid, index, state, price, filled, closed, avg, tp_percent, tp_price, pyramid_tp in rows.values_list(
            "pyramid__index", "index", "state", "price", "filled_qty", "closed_qty", "avg_fill_price",
            "tp_percent", "tp_price", "pyramid__take_profit",
        )
    ]  # fmt: skip


def _fill_markers(group: PositionGroup) -> list[Marker]:
    """Each entry order that filled: DCA0 as the pyramid's entry, the other legs as fills, at the
    time its order last changed (its last fill)."""
    rows = Order.objects.filter(
        group=group, purpose__in=(Purpose.ENTRY, Purpose.DCA), filled_qty__gt=0, avg_fill_price__isnull=False
    ).values_list(
        "purpose", "updated_at", "avg_fill_price", "filled_qty", "leg__pyramid__index", "leg__index"
    )
    return [
        Marker(
            at=at,
            price=price,
            kind="entry" if purpose == Purpose.ENTRY else "fill",
            text=f"{leg_label(pyramid, index) if index is not None else 'entry'} filled {qty.normalize():f}",
        )
        for purpose, at, price, qty, pyramid, index in rows
    ]


def _close_markers(group: PositionGroup) -> list[Marker]:
    rows = Trade.objects.filter(group=group).values_list("closed_at", "exit_price", "reason", "realized_pnl")
    return [
        Marker(at, price, trade_marker_kind(reason), f"{REASON_LABELS.get(reason, reason)} {pnl:+.2f} USD")
        for at, price, reason, pnl in rows
    ]


def _points(group: PositionGroup) -> list[tuple[datetime, Decimal]]:
    rows = PriceSample.objects.filter(
        account_id=group.account_id, symbol=group.symbol, taken_at__gte=group.opened_at - CONTEXT
    )
    if group.closed_at is not None:
        rows = rows.filter(taken_at__lte=group.closed_at + CONTEXT)
    return downsample(list(rows.order_by("taken_at", "id").values_list("taken_at", "price")), MAX_POINTS)


def _candles(group: PositionGroup) -> list[dict[str, Any]]:
    """The engine's cached venue candles over the group's life (live venues; none for paper)."""
    rows = CachedCandle.objects.filter(
        account_id=group.account_id, symbol=group.symbol, opened_at__gte=group.opened_at - CONTEXT
    )
    if group.closed_at is not None:
        rows = rows.filter(opened_at__lte=group.closed_at + CONTEXT)
    fields = ("opened_at", "open", "high", "low", "close")
    return [
        {"time": _epoch(at), "open": o, "high": h, "low": low, "close": c}
        for at, o, h, low, c in rows.order_by("opened_at").values_list(*fields)
    ]


def _tick(group: PositionGroup, legs: list[ChartLeg]) -> Decimal:
    tick = (
        MarketRule.objects.filter(account_id=group.account_id, symbol=group.symbol)
        .values_list("tick_size", flat=True)
        .first()
    )
    if tick:
        return tick
    return fallback_tick(legs[0].price) if legs else Decimal("0.01")


def group_chart(group: PositionGroup) -> dict[str, Any]:
    """The chart of one group in the API's shape (trading/api/chart_schemas.py)."""
    legs = _legs(group)
    lines = chart_lines(
        Side(group.side), TpMode(group.tp_mode), group.aggregate_tp_percent, legs, group.stop_loss
    )
    markers = sorted_markers([*_fill_markers(group), *_close_markers(group)])
    candles = _candles(group)
    return {
        "symbol": group.symbol,
        "tick": _tick(group, legs),
        "kind": "candles" if candles else "points",  # live venues once the engine cached some
        "points": [{"time": _epoch(at), "price": price} for at, price in _points(group)],
        "candles": candles,
        "lines": [{"label": line.label, "price": line.price, "kind": line.kind} for line in lines],
        "markers": [
            {"time": _epoch(m.at), "price": m.price, "kind": m.kind, "text": m.text} for m in markers
        ],
    }
