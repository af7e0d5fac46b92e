"""Splitting one close over several legs: the order's quantity is decided first, then shared out.

Flooring each leg's share to the step separately loses up to one step per leg (a reduce of 0.1 ETH
closed 0.0999). Here the total is rounded to the step once, and the steps are handed out by the
largest remainder, so the legs add up to exactly the quantity the order carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from math import floor

_PLACES = Decimal("1E-12")  # the quantity columns' precision, for splits without a step


def allocate_reduce(
    requested: Decimal, open_qty: Mapping[int, Decimal], step: Decimal | None
) -> dict[int, Decimal]:
    """Share `requested` (capped at what is open, floored to `step`) out over the legs in proportion
    to their open quantity. The result sums to exactly that total and no leg gets more than it holds;
    legs that get nothing are left out."""
    legs = {leg_id: qty for leg_id, qty in open_qty.items() if qty > 0}
    total_open = sum(legs.values(), Decimal(0))
    if requested <= 0 or total_open <= 0:
        return {}
    if step is None or step <= 0:
        return _split_exact(min(requested, total_open), legs, total_open)
    units = floor(Fraction(min(requested, total_open)) / Fraction(step))
    if units <= 0:
        return {}
    return _split_steps(units, step, legs, total_open)


def _split_steps(
    units: int, step: Decimal, legs: dict[int, Decimal], total_open: Decimal
) -> dict[int, Decimal]:
    grid = Fraction(step)
    shares = {leg_id: Fraction(qty) / Fraction(total_open) * units for leg_id, qty in legs.items()}
    given = {leg_id: floor(share) for leg_id, share in shares.items()}
    capacity = {leg_id: floor(Fraction(qty) / grid) for leg_id, qty in legs.items()}
    # Largest remainder first (then the lower leg id): each leg ends within one step of its share.
    order = sorted(legs, key=lambda leg_id: (given[leg_id] - shares[leg_id], leg_id))
    left = units - sum(given.values())
    for leg_id in order:
        if left <= 0:
            break
        if given[leg_id] < capacity[leg_id]:
            given[leg_id] += 1
            left -= 1
    result = {leg_id: step * count for leg_id, count in given.items()}
    if left > 0:
        # Legs off the step grid (a partial fill in finer units) can leave whole steps unplaced:
        # what remains goes to the legs with room, so the total still holds.
        remaining = step * left
        for leg_id in order:
            room = legs[leg_id] - result[leg_id]
            take = min(room, remaining)
            result[leg_id] += take
            remaining -= take
    return {leg_id: qty.normalize() for leg_id, qty in result.items() if qty > 0}


def _split_exact(total: Decimal, legs: dict[int, Decimal], total_open: Decimal) -> dict[int, Decimal]:
    if total == total_open:
        return dict(legs)
    result = {
        leg_id: (qty * total / total_open).quantize(_PLACES, rounding=ROUND_FLOOR)
        for leg_id, qty in legs.items()
    }
    # What flooring left over goes to the legs with room, largest first (a few 1E-12 at most).
    remaining = total - sum(result.values(), Decimal(0))
    for leg_id in sorted(legs, key=lambda leg_id: (-legs[leg_id], leg_id)):
        take = min(legs[leg_id] - result[leg_id], remaining)
        result[leg_id] += take
        remaining -= take
    return {leg_id: qty for leg_id, qty in result.items() if qty > 0}
