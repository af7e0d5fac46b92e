"""Take-profit prices and the per-price decision of which legs (or the whole group) to close.

A signal may also carry its own levels: a stop-loss for the whole group (crossed: the group closes)
and a take-profit price for its pyramid (that pyramid's legs close together there, instead of at
their leg TPs, and stay out of the aggregate average).

Runs on every price update for every open group, so it sticks to plain Decimal arithmetic in the
caller's context and builds reason strings only when something triggers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .types import Side, TpMode

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class OpenLeg:
    """A filled leg with quantity still open (filled and not yet closed)."""

    leg_id: int
    open_qty: Decimal
    avg_fill_price: Decimal
    tp_percent: Decimal
    tp_price: Decimal | None = None  # its pyramid's own take-profit price (the signal's risk.take_profit)


@dataclass(frozen=True)
class TpDecision:
    close_group: bool  # True: close every open leg of the group together
    legs: tuple[int, ...]  # leg ids to close
    reason: str
    stop: bool = False  # the group's stop-loss was crossed (close_group is then True)

    @property
    def triggered(self) -> bool:
        return bool(self.legs)


def leg_tp_price(side: Side, fill_price: Decimal, tp_percent: Decimal) -> Decimal:
    """A leg's own TP: above its fill for a long, below for a short (not rounded)."""
    if side is Side.LONG:
        return fill_price * (1 + tp_percent / _HUNDRED)
    return fill_price * (1 - tp_percent / _HUNDRED)


def weighted_average_entry(legs: Sequence[OpenLeg]) -> Decimal | None:
    """Average fill price weighted by open quantity; None when nothing is open."""
    qty = _ZERO
    cost = _ZERO
    for leg in legs:
        if leg.open_qty > 0:
            qty += leg.open_qty
            cost += leg.open_qty * leg.avg_fill_price
    return cost / qty if qty else None


def aggregate_tp_price(side: Side, legs: Sequence[OpenLeg], aggregate_tp_percent: Decimal) -> Decimal | None:
    """The group's TP: the weighted-average entry moved by the aggregate percent."""
    average = weighted_average_entry(legs)
    if average is None:
        return None
    return leg_tp_price(side, average, aggregate_tp_percent)


def evaluate_take_profit(
    side: Side,
    legs: Sequence[OpenLeg],
    price: Decimal,
    mode: TpMode,
    aggregate_tp_percent: Decimal | None = None,
    stop_loss: Decimal | None = None,
) -> TpDecision:
    """Decide what `price` closes. Pass only the group's open legs; closed ones simply drop out.

    A crossed `stop_loss` closes the group, whatever it holds (resting legs are cancelled).
    """
    is_long = side is Side.LONG
    if stop_loss is not None and ((price <= stop_loss) if is_long else (price >= stop_loss)):
        return TpDecision(
            True,
            tuple(leg.leg_id for leg in legs if leg.open_qty > 0),
            f"stop-loss {_fmt(stop_loss)} crossed at {_fmt(price)}",
            stop=True,
        )
    open_legs = [leg for leg in legs if leg.open_qty > 0]
    if not open_legs:
        return TpDecision(False, (), "no open legs")
    # Legs of a pyramid with its own TP price follow only that price.
    own = [leg for leg in open_legs if leg.tp_price is not None]
    ruled = [leg for leg in open_legs if leg.tp_price is None] if own else open_legs

    if mode != TpMode.LEG:
        if aggregate_tp_percent is None:
            raise ValueError(f"tp mode {mode} needs an aggregate take-profit percent")
        target = aggregate_tp_price(side, ruled, aggregate_tp_percent)
        if target is not None and ((price >= target) if is_long else (price <= target)):
            return TpDecision(
                True,
                tuple(leg.leg_id for leg in open_legs),
                f"aggregate TP {_fmt(target)} reached at {_fmt(price)}",
            )
        if mode == TpMode.AGGREGATE and not own:
            return TpDecision(False, (), "aggregate TP not reached")

    hits: list[int] = []
    for leg in own if mode == TpMode.AGGREGATE else open_legs:
        target = (
            leg.tp_price
            if leg.tp_price is not None
            else leg_tp_price(side, leg.avg_fill_price, leg.tp_percent)
        )
        if (price >= target) if is_long else (price <= target):
            hits.append(leg.leg_id)
    if not hits:
        return TpDecision(False, (), "no leg TP reached")
    return TpDecision(
        False, tuple(hits), f"leg TP reached at {_fmt(price)} for legs {', '.join(map(str, hits))}"
    )


def tp_progress_percent(side: Side, fill_price: Decimal, tp_price: Decimal, price: Decimal) -> Decimal:
    """How far price has travelled from the fill toward the TP, clamped to 0..100 (for the console)."""
    distance = tp_price - fill_price
    moved = price - fill_price
    if side is Side.SHORT:
        distance, moved = -distance, -moved
    if distance <= 0:
        # A TP at (or on the wrong side of) the fill: it is either reached or not.
        return _HUNDRED if moved >= 0 else _ZERO
    progress = moved / distance * _HUNDRED
    return min(max(progress, _ZERO), _HUNDRED)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class QuietBand:
    """Prices strictly between `below` and `above` trigger nothing (None: no bound on that side).

    A replay skips price points inside the band instead of pricing each one: take-profit and
    stop-loss triggers are levels a price reaches, so nothing between the nearest two can fire.
    """

    below: Decimal | None = None
    above: Decimal | None = None

    def holds(self, price: Decimal, margin: Decimal = _ZERO) -> bool:
        """Whether `price` is inside the band by more than `margin` on both sides."""
        return (self.below is None or price > self.below + margin) and (
            self.above is None or price < self.above - margin
        )

    def narrowed(self, below: Decimal | None = None, above: Decimal | None = None) -> QuietBand:
        """This band cut by another trigger on either side."""
        lo = self.below if below is None else below if self.below is None else max(self.below, below)
        hi = self.above if above is None else above if self.above is None else min(self.above, above)
        return QuietBand(lo, hi)


def quiet_band(
    side: Side,
    legs: Sequence[OpenLeg],
    mode: TpMode,
    aggregate_tp_percent: Decimal | None = None,
    stop_loss: Decimal | None = None,
) -> QuietBand:
    """The prices at which `evaluate_take_profit` with the same arguments triggers nothing.

    Every target it checks (the aggregate TP of the legs without their own price, each leg's TP or
    its pyramid's own price, the stop) fires at and beyond its level, so the band runs from the
    nearest level on one side to the nearest on the other, both excluded.
    """
    is_long = side is Side.LONG
    stop = QuietBand(below=stop_loss) if is_long else QuietBand(above=stop_loss)
    open_legs = [leg for leg in legs if leg.open_qty > 0]
    own = [leg for leg in open_legs if leg.tp_price is not None]
    ruled = [leg for leg in open_legs if leg.tp_price is None] if own else open_legs
    targets: list[Decimal] = []
    if open_legs and mode != TpMode.LEG:
        if aggregate_tp_percent is None:
            raise ValueError(f"tp mode {mode} needs an aggregate take-profit percent")
        target = aggregate_tp_price(side, ruled, aggregate_tp_percent)
        if target is not None:
            targets.append(target)
    for leg in (own if mode == TpMode.AGGREGATE else open_legs) if open_legs else []:
        targets.append(
            leg.tp_price
            if leg.tp_price is not None
            else leg_tp_price(side, leg.avg_fill_price, leg.tp_percent)
        )
    if not targets:
        return stop
    return stop.narrowed(above=min(targets)) if is_long else stop.narrowed(below=max(targets))
