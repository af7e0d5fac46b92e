"""A group's status, derived from its legs (never stored independently of them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LegProgress:
    qty: Decimal
    filled_qty: Decimal
    closed_qty: Decimal
    accepted: bool  # the exchange accepted its entry order
    entry_done: bool  # its entry order is finished (filled, cancelled or rejected)
    skipped: bool = False


def derive_group_status(legs: list[LegProgress], closing: bool, close_orders_live: bool) -> str:
    """waiting → live → partially_filled → active → closing → closed, as the spec names them."""
    active = [leg for leg in legs if not leg.skipped]
    open_qty = sum((leg.filled_qty - leg.closed_qty for leg in active), Decimal(0))
    entries_live = any(not leg.entry_done for leg in active)
    if closing:
        return "closed" if open_qty == 0 and not close_orders_live and not entries_live else "closing"
    if active and not entries_live and open_qty == 0 and not close_orders_live:
        return "closed"  # every leg took profit, or nothing ever filled
    if sum((leg.filled_qty for leg in active), Decimal(0)) == 0:
        return "live" if any(leg.accepted for leg in active) else "waiting"
    if open_qty == 0 and not close_orders_live:
        return "live"  # everything that filled has taken profit; only resting orders remain
    return "active" if not entries_live else "partially_filled"
