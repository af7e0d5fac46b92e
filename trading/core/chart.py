"""What the group chart draws over the price: horizontal lines (DCA leg prices, take-profit targets,
the average entry, the stop) and markers (entries, fills, take-profits, exits). Pure: plain records
in, plain records out; the take-profit targets are the engine's own rules (`core.takeprofit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from .takeprofit import OpenLeg, aggregate_tp_price, leg_tp_price, weighted_average_entry
from .types import Side, TpMode

LineKind = Literal["leg", "tp", "avg", "stop"]
MarkerKind = Literal["entry", "fill", "tp", "exit"]
_NOT_PLACED = ("cancelled", "skipped")  # legs that never rest on the book: no line
TP_REASONS = ("tp_leg", "tp_group")


@dataclass(frozen=True)
class ChartLeg:
    pyramid: int
    index: int
    state: str
    price: Decimal  # the leg's limit price
    open_qty: Decimal  # filled and not yet closed
    avg_fill_price: Decimal | None
    tp_percent: Decimal
    tp_price: Decimal | None  # the leg's stored target (None until it fills)
    pyramid_tp: Decimal | None  # the signal's own take-profit for its pyramid, when it gave one


@dataclass(frozen=True)
class Line:
    label: str
    price: Decimal
    kind: LineKind


@dataclass(frozen=True)
class Marker:
    at: datetime
    price: Decimal
    kind: MarkerKind
    text: str


def leg_label(pyramid: int, index: int) -> str:
    return f"P{pyramid} DCA {index}"


def _open(legs: Iterable[ChartLeg]) -> list[tuple[ChartLeg, OpenLeg]]:
    return [
        (leg, OpenLeg(n, leg.open_qty, leg.avg_fill_price, leg.tp_percent, leg.pyramid_tp))
        for n, leg in enumerate(legs)
        if leg.open_qty > 0 and leg.avg_fill_price is not None
    ]


def _leg_target(side: Side, leg: ChartLeg) -> Decimal:
    if leg.pyramid_tp is not None:
        return leg.pyramid_tp
    if leg.tp_price is not None:
        return leg.tp_price
    assert leg.avg_fill_price is not None  # only open legs get here
    return leg_tp_price(side, leg.avg_fill_price, leg.tp_percent)


def tp_lines(side: Side, mode: TpMode, aggregate_percent: Decimal, legs: Sequence[ChartLeg]) -> list[Line]:
    """The targets the engine watches now: each open leg's own TP (leg and hybrid modes, and legs
    whose pyramid has its own TP), and the aggregate TP over the others (aggregate and hybrid)."""
    held = _open(legs)
    own = [(leg, open_leg) for leg, open_leg in held if leg.pyramid_tp is not None]
    lines = [
        Line(f"TP {leg_label(leg.pyramid, leg.index)}", _leg_target(side, leg), "tp")
        for leg, _ in held
        if mode != TpMode.AGGREGATE or leg.pyramid_tp is not None
    ]
    if mode != TpMode.LEG:
        ruled = (
            [open_leg for leg, open_leg in held if leg.pyramid_tp is None] if own else [o for _, o in held]
        )
        target = aggregate_tp_price(side, ruled, aggregate_percent)
        if target is not None:
            lines.append(Line("Aggregate TP", target, "tp"))
    return lines


def chart_lines(
    side: Side, mode: TpMode, aggregate_percent: Decimal, legs: Sequence[ChartLeg], stop: Decimal | None
) -> list[Line]:
    """Every line of a group: leg prices, take-profit targets, the average entry of what is open,
    and the stop-loss when the webhook set one."""
    lines = [
        Line(leg_label(leg.pyramid, leg.index), leg.price, "leg")
        for leg in legs
        if leg.state not in _NOT_PLACED
    ]
    lines += tp_lines(side, mode, aggregate_percent, legs)
    average = weighted_average_entry([open_leg for _, open_leg in _open(legs)])
    if average is not None:
        lines.append(Line("Avg entry", average, "avg"))
    if stop is not None:
        lines.append(Line("Stop", stop, "stop"))
    return lines


def sorted_markers(markers: Iterable[Marker]) -> list[Marker]:
    """Oldest first (a chart library wants them in time order); ties keep entries before exits."""
    order = {"entry": 0, "fill": 1, "tp": 2, "exit": 3}
    return sorted(markers, key=lambda m: (m.at, order[m.kind]))


def trade_marker_kind(reason: str) -> MarkerKind:
    """A take-profit close (a leg's or the aggregate's) or any other exit (signal, risk, manual …)."""
    return "tp" if reason in TP_REASONS else "exit"


def fallback_tick(price: Decimal) -> Decimal:
    """A display tick for a market without cached rules: fewer decimals for bigger prices (the
    console's own fallback, dashboard/data/grid.py)."""
    size = abs(price)
    if size >= 1000:
        return Decimal("0.01")
    if size >= 1:
        return Decimal("0.0001")
    return Decimal("0.000001")
