"""Every change of an order's state goes through here: checked, stamped, and told.

`move` (one order) and `move_all` (one UPDATE for many) check the move against the transition
table (`trading.core.order_states`; an illegal one raises before anything is written), stamp the
order with the engine clock, and record an event for the moves a trader must be able to read back:
a cancellation and why, a rejection, a block by pre-flight, a lost request put back in the queue.
Moves another event already tells are not told twice: acceptance (`accepted`, when the send or a
later lookup gets the exchange's answer) and fills (`fills`). A test checks that no other module
assigns an order's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exchanges.core.adapter import OrderStatus

from .. import events
from ..core.numbers import fmt
from ..core.order_states import check_transition
from ..models import Order, OrderState
from .context import EngineContext


@dataclass(frozen=True)
class Telling:
    """How a move into a state is told: the message after "order <id> ", where, how loud."""

    says: str
    category: str = events.Category.ORDER
    severity: str = events.Severity.INFO


TOLD: dict[str, Telling] = {
    OrderState.CANCELLED: Telling("cancelled: {reason}"),
    OrderState.REJECTED: Telling("rejected by {reason}", severity=events.Severity.ERROR),
    OrderState.BLOCKED: Telling(
        "blocked before sending: {reason}", events.Category.PRECISION, events.Severity.WARNING
    ),
    # Only with a reason: an order whose batch stopped before it was never sent, and to the trader it
    # never left the queue (`sending.unmark`).
    OrderState.QUEUED: Telling("back in the queue: {reason}", severity=events.Severity.WARNING),
}

# Where the reason is kept on the row: a cancel's reason outlives the request, so the report that
# confirms it (possibly on a later sync) can still tell why.
NOTED = {OrderState.CANCELLING, OrderState.CANCELLED, OrderState.REJECTED, OrderState.BLOCKED}


def move(
    ctx: EngineContext,
    order: Order,
    new: str,
    *,
    reason: str = "",
    severity: str | None = None,
    context: dict[str, Any] | None = None,
    save: bool = True,
) -> bool:
    """Move `order` to `new` (saved unless `save=False`: the caller saves it with other fields).

    False, and nothing written, when the order is already there. Raises IllegalOrderTransition
    for a move the table does not allow.
    """
    old = order.state
    check_transition(old, new)
    if old == new:
        return False
    order.state = new
    order.updated_at = ctx.now()
    if reason and new in NOTED:
        order.error = reason[:500]
    if save:
        order.save(update_fields=["state", "updated_at", "error"])
    # A cancel confirmed without a word of its own (a report, a later sync) tells why it was asked.
    why = reason or (order.error if new == OrderState.CANCELLED and old == OrderState.CANCELLING else "")
    _tell(ctx, order, old, why, severity, context)
    return True


def move_all(
    ctx: EngineContext, orders: Sequence[Order], new: str, *, reason: str = "", **values: Any
) -> list[Order]:
    """`move` for many orders in one UPDATE, their events inserted together. Returns the orders
    moved: `values` (e.g. a counter as an F expression) are written on those, and the caller
    brings their instances up to date with them."""
    moving = [order for order in orders if order.state != new]
    for order in moving:
        check_transition(order.state, new)  # all of them before any is written
    if not moving:
        return []
    now = ctx.now()
    fields: dict[str, Any] = {"state": new, "updated_at": now, **values}
    if reason and new in NOTED:
        fields["error"] = reason[:500]
    Order.objects.filter(pk__in=[order.pk for order in moving]).update(**fields)
    with events.batched():
        for order in moving:
            old = order.state
            order.state, order.updated_at = new, now
            order.error = fields.get("error", order.error)
            _tell(ctx, order, old, reason, None, None)
    return moving


def _tell(
    ctx: EngineContext,
    order: Order,
    old: str,
    reason: str,
    severity: str | None,
    context: dict[str, Any] | None,
) -> None:
    telling = TOLD.get(order.state)
    if telling is None or (order.state == OrderState.QUEUED and not reason):
        return
    events.record(
        telling.category,
        f"order {order.client_order_id} " + telling.says.format(reason=reason or "no reason given"),
        severity=severity or telling.severity,
        symbol=order.symbol,
        group_id=order.group_id,
        context={
            "order": order.client_order_id,
            "purpose": order.purpose,
            "from": old,
            "to": order.state,
            "filled_qty": fmt(order.filled_qty),
            "qty": fmt(order.qty),
            **(context or {}),
        },
        now=ctx.now(),
    )


def accepted(ctx: EngineContext, order: Order, status: OrderStatus, *, how: str = "") -> None:
    """Tell that the exchange took a SUBMITTING order (a refusal is told by its move to REJECTED)."""
    if status is OrderStatus.REJECTED:
        return
    events.record(
        events.Category.ORDER,
        f"{order.purpose} order {order.client_order_id} accepted{how}: {order.side} {fmt(order.qty)} {order.symbol}"
        + (f" @ {fmt(order.price)}" if order.price is not None else " at market"),
        symbol=order.symbol,
        group_id=order.group_id,
        context={
            "order": order.client_order_id,
            "type": order.type,
            "qty": fmt(order.qty),
            "price": fmt(order.price),
            "status": status.value,
        },
        now=ctx.now(),
    )
