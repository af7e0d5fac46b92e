"""Unrealised PnL of a group, its loss percent, and the USD a planned close would realise.

Issue 4: unrealised PnL = Σ over filled, still-open quantity of (price − fill) × qty (long; mirrored
for short) minus the fees paid on that quantity; loss % = unrealised PnL ÷ cost of the open filled
quantity (Σ fill × qty) × 100.

Runs for every live group every cycle (35 legs each): one pass per group, one multiplication per leg.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading.core.types import Side

from .snapshot import GroupSnapshot, LegPosition

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class GroupPnl:
    unrealised_usd: Decimal  # after entry fees; negative is a loss
    cost_usd: Decimal  # Σ fill × open qty
    loss_percent: Decimal  # unrealised_usd ÷ cost_usd × 100 (positive for a winner)
    open_qty: Decimal


def group_pnl(side: Side, legs: Sequence[LegPosition], price: Decimal | None) -> GroupPnl | None:
    """The group's unrealised PnL at `price`; None when it cannot be evaluated (no price, nothing open)."""
    if price is None or price <= 0:
        return None
    # Σ (price − fill) × qty == price × Σ qty − Σ fill × qty: one multiplication per leg, not two.
    qty = cost = fees = _ZERO
    for leg in legs:
        leg_qty = leg.open_qty
        qty += leg_qty
        cost += leg.avg_fill_price * leg_qty
        fees += leg.entry_fees
    if qty <= 0 or cost <= 0:
        return None
    gross = price * qty - cost if side == Side.LONG else cost - price * qty
    unrealised = gross - fees
    return GroupPnl(unrealised, cost, unrealised / cost * _HUNDRED, qty)


def snapshot_pnl(group: GroupSnapshot) -> GroupPnl | None:
    return group_pnl(group.side, group.legs, group.price)


def close_usd(
    side: Side, legs: Sequence[LegPosition], leg_qtys: Iterable[tuple[int, Decimal]], price: Decimal
) -> Decimal:
    """What closing `leg_qtys` at `price` would realise: each leg's move on the closed quantity
    minus the share of its entry fees that quantity carries."""
    by_id = {leg.leg_id: leg for leg in legs}
    direction = 1 if side == Side.LONG else -1
    total = _ZERO
    for leg_id, qty in leg_qtys:
        leg = by_id[leg_id]
        total += direction * (price - leg.avg_fill_price) * qty
        if leg.entry_fees and leg.open_qty:
            total -= leg.entry_fees * qty / leg.open_qty
    return total
