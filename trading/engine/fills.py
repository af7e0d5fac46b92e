"""Booking fills: entry fills build a leg's position, close fills realise PnL into trades."""

from __future__ import annotations

from decimal import Decimal

from exchanges.core.adapter import OrderReport

from .. import events
from ..core.clientid import Purpose
from ..core.lifecycle import LegProgress, derive_group_status
from ..core.numbers import fmt
from ..core.takeprofit import leg_tp_price
from ..core.types import Side
from ..models import DcaLeg, GroupStatus, LegState, Order, OrderState, PositionGroup, Trade
from ..models.orders import LIVE_ORDER_STATES
from .context import EngineContext

ENTRY_PURPOSES = {Purpose.ENTRY.value, Purpose.DCA.value}
TRADE_REASON = {
    Purpose.TP_LEG.value: "tp_leg",
    Purpose.TP_GROUP.value: "tp_group",
    Purpose.EXIT.value: "exit",
    Purpose.REDUCE.value: "reduce",
    Purpose.REVERSE.value: "reverse",
    Purpose.RISK.value: "risk",
    Purpose.MANUAL.value: "manual",
}
LEG_ENTRY_DONE = {LegState.FILLED, LegState.HIT_TP, LegState.CLOSED, LegState.CANCELLED, LegState.SKIPPED}


def _delta(order: Order, report: OrderReport) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, average price, fee) of what filled since we last looked."""
    dq = report.filled_qty - order.filled_qty
    old_notional = (order.avg_fill_price or Decimal(0)) * order.filled_qty
    new_notional = (report.avg_fill_price or Decimal(0)) * report.filled_qty
    price = (new_notional - old_notional) / dq
    fee = report.fee_quote - order.fee_quote
    return dq, price, fee


def book_fill(ctx: EngineContext, order: Order, report: OrderReport) -> None:
    """Apply the newly filled part of `order` (caller holds the row and saves it afterwards)."""
    dq, price, fee = _delta(order, report)
    ctx.fills_since_risk += 1
    ctx.tp_dirty.add((order.account_id, order.symbol))
    if order.purpose in ENTRY_PURPOSES:
        _book_entry(ctx, order, dq, price, fee, done=report.is_done)
    else:
        _book_close(ctx, order, dq, price, fee)
    order.filled_qty = report.filled_qty
    order.avg_fill_price = report.avg_fill_price
    order.fee_quote = report.fee_quote


def _book_entry(
    ctx: EngineContext, order: Order, dq: Decimal, price: Decimal, fee: Decimal, done: bool
) -> None:
    leg = DcaLeg.objects.select_for_update().get(pk=order.leg_id)
    group = leg.group
    filled = leg.filled_qty + dq
    leg.avg_fill_price = ((leg.avg_fill_price or Decimal(0)) * leg.filled_qty + price * dq) / filled
    leg.filled_qty = filled
    leg.entry_fees += fee
    leg.tp_price = leg_tp_price(Side(group.side), leg.avg_fill_price, leg.tp_percent)
    leg.state = LegState.FILLED if done else LegState.PARTIALLY_FILLED
    leg.save()
    PositionGroup.objects.filter(pk=group.pk).update(fees_paid=group.fees_paid + fee)
    events.record(
        events.Category.ORDER,
        f"{leg.label} of P{leg.pyramid.index} filled {fmt(dq)} @ {fmt(price, 8)}"
        f" (leg {fmt(filled)}/{fmt(leg.qty)}); TP at {fmt(leg.tp_price, 8)}",
        symbol=group.symbol,
        timeframe=group.timeframe,
        group_id=group.pk,
        context={"order": order.client_order_id, "fee": fee},
        now=ctx.now(),
    )


def _allocation_slices(order: Order, dq: Decimal) -> list[tuple[int, Decimal]]:
    """Which legs the newly filled `dq` belongs to: allocations are filled in leg-id order."""
    start, end = order.filled_qty, order.filled_qty + dq
    slices: list[tuple[int, Decimal]] = []
    cursor = Decimal(0)
    for leg_id, qty_text in sorted(order.allocations.items(), key=lambda item: int(item[0])):
        qty = Decimal(qty_text)
        lo, hi = max(start, cursor), min(end, cursor + qty)
        if hi > lo:
            slices.append((int(leg_id), hi - lo))
        cursor += qty
    return slices


def _book_close(ctx: EngineContext, order: Order, dq: Decimal, price: Decimal, fee: Decimal) -> None:
    group = PositionGroup.objects.select_for_update().get(pk=order.group_id)
    side = Side(group.side)
    direction = Decimal(1) if side is Side.LONG else Decimal(-1)
    realized_total = Decimal(0)
    entry_cost = Decimal(0)
    fees_total = fee
    for leg_id, qty in _allocation_slices(order, dq):
        leg = DcaLeg.objects.select_for_update().get(pk=leg_id)
        avg = leg.avg_fill_price or Decimal(0)
        exit_fee = fee * qty / dq
        entry_fee = leg.entry_fees * qty / leg.filled_qty if leg.filled_qty else Decimal(0)
        realized = (price - avg) * qty * direction - exit_fee - entry_fee
        leg.closed_qty += qty
        leg.realized_pnl += realized
        if leg.open_qty <= 0 and leg.state in (LegState.FILLED, LegState.PARTIALLY_FILLED):
            leg.state = (
                LegState.HIT_TP
                if order.purpose in (Purpose.TP_LEG.value, Purpose.TP_GROUP.value)
                else LegState.CLOSED
            )
        leg.save()
        realized_total += realized
        entry_cost += avg * qty
        fees_total += entry_fee
    group.realized_pnl += realized_total
    group.fees_paid += fee
    group.save(update_fields=["realized_pnl", "fees_paid", "updated_at"])
    _record_trade(ctx, order, group, dq, price, entry_cost, realized_total, fees_total)


def _record_trade(
    ctx: EngineContext,
    order: Order,
    group: PositionGroup,
    dq: Decimal,
    price: Decimal,
    entry_cost: Decimal,
    realized: Decimal,
    fees: Decimal,
) -> None:
    trade = Trade.objects.filter(order=order).first()
    if trade is None:
        trade = Trade(
            group=group,
            order=order,
            account_id=group.account_id,
            symbol=group.symbol,
            timeframe=group.timeframe,
            side=group.side,
            reason=TRADE_REASON.get(order.purpose, order.purpose),
            qty=Decimal(0),
            entry_price=Decimal(0),
            exit_price=Decimal(0),
        )
    total = trade.qty + dq
    trade.entry_price = (trade.entry_price * trade.qty + entry_cost) / total
    trade.exit_price = (trade.exit_price * trade.qty + price * dq) / total
    trade.qty = total
    trade.realized_pnl += realized
    trade.fees += fees
    trade.closed_at = ctx.now()
    trade.save()
    events.record(
        events.Category.ORDER,
        f"{trade.reason} close of {fmt(dq)} {group.symbol} @ {fmt(price, 8)}: realised {fmt(realized, 4)} USDT",
        symbol=group.symbol,
        timeframe=group.timeframe,
        group_id=group.pk,
        context={"order": order.client_order_id},
        now=ctx.now(),
    )


def order_accepted(ctx: EngineContext, order: Order) -> None:
    """The exchange holds an entry order: its leg is Open (unless fills moved it on already)."""
    if order.purpose in ENTRY_PURPOSES and order.leg_id is not None:
        opened = DcaLeg.objects.filter(pk=order.leg_id, state=LegState.PENDING).update(state=LegState.OPEN)
        if opened:
            # An order accepted on a later sync (after a timeout or a restart) moves Waiting to Live.
            refresh_group(ctx, PositionGroup.objects.get(pk=order.group_id))


def order_finished(ctx: EngineContext, order: Order) -> None:
    """An order reached a final state: settle its leg's state, then the group's."""
    if order.purpose in ENTRY_PURPOSES and order.leg_id is not None:
        leg = DcaLeg.objects.select_for_update().get(pk=order.leg_id)
        if leg.state not in (LegState.HIT_TP, LegState.CLOSED):
            if leg.filled_qty > 0:
                leg.state = LegState.FILLED if leg.open_qty > 0 else LegState.CLOSED
            else:
                leg.state = LegState.CANCELLED
            leg.save(update_fields=["state", "updated_at"])
    group = PositionGroup.objects.get(pk=order.group_id)
    if (
        order.purpose not in ENTRY_PURPOSES
        and order.state in (OrderState.REJECTED, OrderState.CANCELLED)
        and order.filled_qty < order.qty
        and group.status == GroupStatus.CLOSING
    ):
        # A failed close must not leave the group stuck in Closing: it stays open and says why.
        group.status = GroupStatus.ACTIVE
        group.save(update_fields=["status", "updated_at"])
        events.record(
            events.Category.ORDER,
            f"close of group #{group.pk} did not complete ({order.error or order.state}); the group stays open",
            severity=events.Severity.ERROR,
            symbol=group.symbol,
            group_id=group.pk,
            now=ctx.now(),
        )
    refresh_group(ctx, group)


def refresh_group(ctx: EngineContext, group: PositionGroup) -> str:
    """Re-derive the group's status from its legs; close it when nothing is left."""
    legs = [
        LegProgress(
            qty=leg.qty,
            filled_qty=leg.filled_qty,
            closed_qty=leg.closed_qty,
            accepted=leg.state != LegState.PENDING,
            entry_done=leg.state in LEG_ENTRY_DONE,
            skipped=leg.state == LegState.SKIPPED,
        )
        for leg in group.legs.all()
    ]
    close_live = group.orders.filter(state__in=LIVE_ORDER_STATES).exclude(purpose__in=ENTRY_PURPOSES).exists()
    status = derive_group_status(legs, group.status == GroupStatus.CLOSING, close_live)
    if status == group.status:
        return status
    group.status = status
    fields = ["status", "updated_at"]
    if status == GroupStatus.CLOSED:
        group.closed_at = ctx.now()
        group.close_reason = group.close_reason or "all legs closed"
        fields += ["closed_at", "close_reason"]
    group.save(update_fields=fields)
    if status == GroupStatus.CLOSED:
        group.refresh_from_db(fields=["realized_pnl"])
        events.record(
            events.Category.SIGNAL,
            f"group #{group.pk} closed ({group.close_reason}); realised {fmt(group.realized_pnl, 4)} USDT;"
            " pool slot released",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )
    return status


def open_orders_of(group: PositionGroup, purposes: set[str]) -> list[Order]:
    return list(group.orders.filter(state__in=LIVE_ORDER_STATES, purpose__in=purposes).order_by("id"))


__all__ = ["book_fill", "order_finished", "refresh_group", "open_orders_of", "OrderState"]
