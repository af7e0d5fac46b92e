"""Booking fills: entry fills build a leg's position, close fills realise PnL into trades."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from exchanges.core.adapter import OrderReport

from .. import events
from ..compiled import CompiledUpdate, save_fields
from ..core.clientid import Purpose
from ..core.lifecycle import LegProgress, derive_group_status
from ..core.numbers import fmt, usd
from ..core.precision import round_price
from ..core.takeprofit import leg_tp_price
from ..core.types import OrderSide, Side
from ..models import DcaLeg, GroupStatus, LegState, Order, OrderState, PositionGroup, Trade
from ..models.orders import LIVE_ORDER_STATES
from . import equity, markets
from .context import POOL, EngineContext

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
# What booking an entry fill (and settling the leg) changes on the leg row.
_LEG_FILL_FIELDS = ("filled_qty", "avg_fill_price", "entry_fees", "tp_price", "state", "updated_at")
_LEG_STATE_FIELDS = ("state", "updated_at")
_GROUP_FEES = CompiledUpdate(PositionGroup, ("fees_paid",))
_LEG_CLOSE_FIELDS = ["closed_qty", "realized_pnl", "state", "updated_at"]
LEG_ENTRY_DONE = {LegState.FILLED, LegState.HIT_TP, LegState.CLOSED, LegState.CANCELLED, LegState.SKIPPED}


def _delta(order: Order, report: OrderReport) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, average price, fee) of what filled since we last looked."""
    dq = report.filled_qty - order.filled_qty
    old_notional = (order.avg_fill_price or Decimal(0)) * order.filled_qty
    new_notional = (report.avg_fill_price or Decimal(0)) * report.filled_qty
    price = (new_notional - old_notional) / dq
    fee = report.fee_quote - order.fee_quote
    return dq, price, fee


class Book:
    """The groups a run of reports touches and every leg of them: locked and read once.

    Reports are booked against these instances and written as they go; a group's status is derived
    from the legs held here, so ten reports on one ladder read the ladder once, not twenty times.
    """

    def __init__(self, orders: Iterable[Order]) -> None:
        group_ids = {order.group_id for order in orders}
        self.groups = {g.pk: g for g in PositionGroup.objects.select_for_update().filter(pk__in=group_ids)}
        self.legs: dict[int, list[DcaLeg]] = {pk: [] for pk in self.groups}
        self._legs_by_id: dict[int, DcaLeg] = {}
        legs = DcaLeg.objects.select_for_update(of=("self",)).filter(group_id__in=group_ids)
        for leg in legs.annotate(pyramid_index=F("pyramid__index")).order_by("id"):
            leg.group = self.groups[leg.group_id]
            self.legs[leg.group_id].append(leg)
            self._legs_by_id[leg.pk] = leg

    def leg(self, leg_id: int) -> DcaLeg:
        return self._legs_by_id[leg_id]

    def position(self, order: Order) -> Position:
        group = self.groups[order.group_id]
        leg = self.leg(order.leg_id) if order.purpose in ENTRY_PURPOSES and order.leg_id is not None else None
        return Position(self, group, leg)


@dataclass
class Position:
    """What one order's report changes: its group and, for an entry order, its leg."""

    book: Book
    group: PositionGroup
    leg: DcaLeg | None = None
    leg_changed: bool = False
    fees_changed: bool = False


def position_of(order: Order) -> Position:
    """Lock and read the rows a report on `order` may change (call inside its transaction)."""
    return Book([order]).position(order)


def book_fill(ctx: EngineContext, order: Order, report: OrderReport, position: Position) -> None:
    """Apply the newly filled part of `order` (the caller saves the order, then `settle`s it)."""
    dq, price, fee = _delta(order, report)
    ctx.fills_since_risk += 1
    ctx.tp_dirty.add((order.account_id, order.symbol))
    if position.leg is not None:
        _book_entry(ctx, order, dq, price, fee, position.leg, position.group, done=report.is_done)
        position.leg_changed = position.fees_changed = True
    else:
        _book_close(ctx, order, dq, price, fee, position)
    order.filled_qty = report.filled_qty
    order.avg_fill_price = report.avg_fill_price
    order.fee_quote = report.fee_quote


def _target_text(ctx: EngineContext, group: PositionGroup, target: Decimal) -> str:
    """A take-profit target as a trader reads it: on the market's tick, rounded toward its trigger
    (a long's is first reached at the tick above, a short's at the tick below); the engine itself
    keeps the exact target."""
    row = markets.rule_row(ctx, group.account_id, "symbol", group.symbol)
    if row is None:
        return fmt(target, 8)
    side = OrderSide.SELL if Side(group.side) is Side.LONG else OrderSide.BUY
    rules = row.to_rules()
    # As many decimals as the tick has, zeros kept (43213.50 on a 0.01 tick), like the console.
    return format(round_price(target, side, rules).quantize(rules.tick_size.normalize()), "f")


def _book_entry(
    ctx: EngineContext,
    order: Order,
    dq: Decimal,
    price: Decimal,
    fee: Decimal,
    leg: DcaLeg,
    group: PositionGroup,
    done: bool,
) -> None:
    """Build the leg's position (saved by `settle`) and add the fee to the group's."""
    filled = leg.filled_qty + dq
    leg.avg_fill_price = ((leg.avg_fill_price or Decimal(0)) * leg.filled_qty + price * dq) / filled
    leg.filled_qty = filled
    leg.entry_fees += fee
    leg.tp_price = leg_tp_price(Side(group.side), leg.avg_fill_price, leg.tp_percent)
    leg.state = LegState.FILLED if done else LegState.PARTIALLY_FILLED
    group.fees_paid += fee  # written by `settle`, with the group's status when that changes too
    events.record(
        events.Category.ORDER,
        f"{leg.label} of P{leg.pyramid_index} filled {fmt(dq)} @ {fmt(price, 8)}"
        f" (leg {fmt(filled)}/{fmt(leg.qty)}); TP at {_target_text(ctx, group, leg.tp_price)}",
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


def _book_close(
    ctx: EngineContext, order: Order, dq: Decimal, price: Decimal, fee: Decimal, position: Position
) -> None:
    group = position.group
    side = Side(group.side)
    direction = Decimal(1) if side is Side.LONG else Decimal(-1)
    realized_total = Decimal(0)
    entry_cost = Decimal(0)
    fees_total = fee
    closed: list[DcaLeg] = []
    now = timezone.now()  # what auto_now would write
    for leg_id, qty in _allocation_slices(order, dq):
        leg = position.book.leg(leg_id)
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
        leg.updated_at = now
        closed.append(leg)
        realized_total += realized
        entry_cost += avg * qty
        fees_total += entry_fee
    # One UPDATE for all the legs this fill closes from (an exit's fill spans every filled leg).
    DcaLeg.objects.bulk_update(closed, _LEG_CLOSE_FIELDS)
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
        f"{trade.reason} close of {fmt(dq)} {group.symbol} @ {fmt(price, 8)}: realised {usd(realized)} USDT",
        symbol=group.symbol,
        timeframe=group.timeframe,
        group_id=group.pk,
        context={"order": order.client_order_id},
        now=ctx.now(),
    )
    # Every realised close moves the equity curve (a leg's take-profit too, not only a group close).
    equity.record_close(ctx, group.account_id)


def order_finished(ctx: EngineContext, order: Order) -> None:
    """An order reached a final state: settle its leg's state, then the group's."""
    settle(ctx, order, position_of(order))


def settle(ctx: EngineContext, order: Order, position: Position) -> None:
    """After a report (or a final state reached without one): the leg and the group follow the order.

    An entry order the exchange holds makes its Pending leg Open — one accepted on a later sync (after
    a timeout or a restart) moves its group from Waiting to Live; a finished one settles its leg.
    The leg is saved once and the group's status derived once, from the legs as they end up.
    """
    leg, group = position.leg, position.group
    opened = leg is not None and leg.state == LegState.PENDING
    if opened:
        leg.state = LegState.OPEN
    finished = order.state not in LIVE_ORDER_STATES
    if finished and leg is not None and leg.state not in (LegState.HIT_TP, LegState.CLOSED):
        leg.state = _ended_state(leg)
        position.leg_changed = True
    if leg is not None and (opened or position.leg_changed):
        save_fields(leg, _LEG_FILL_FIELDS if position.leg_changed else _LEG_STATE_FIELDS)
    if finished and leg is None:
        _keep_open_after_failed_close(ctx, order, group)
    fees = ["fees_paid"] if position.fees_changed else []
    saved = (opened or finished) and refresh_group(ctx, group, position.book.legs[group.pk], also=fees)
    if fees and not saved:
        _GROUP_FEES.run(group.pk, fees_paid=group.fees_paid)


def end_entries(leg_ids: list[int]) -> None:
    """Settle the legs of entry orders that ended without a report (as `settle` does, in bulk)."""
    ended: dict[str, list[int]] = defaultdict(list)
    for leg in DcaLeg.objects.select_for_update().filter(pk__in=leg_ids):
        if leg.state not in (LegState.HIT_TP, LegState.CLOSED):
            ended[_ended_state(leg)].append(leg.pk)
    for state, ids in ended.items():
        DcaLeg.objects.filter(pk__in=ids).update(state=state, updated_at=timezone.now())  # as auto_now


def _ended_state(leg: DcaLeg) -> str:
    """A leg whose entry order is finished: what filled is held (or already closed), else cancelled."""
    if leg.filled_qty > 0:
        return LegState.FILLED if leg.open_qty > 0 else LegState.CLOSED
    return LegState.CANCELLED


def _keep_open_after_failed_close(ctx: EngineContext, order: Order, group: PositionGroup) -> None:
    """A failed close must not leave the group stuck in Closing: it stays open and says why."""
    if (
        order.purpose not in ENTRY_PURPOSES
        and order.state in (OrderState.REJECTED, OrderState.CANCELLED)
        and order.filled_qty < order.qty
        and group.status == GroupStatus.CLOSING
    ):
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


def refresh_group(
    ctx: EngineContext, group: PositionGroup, legs: list[DcaLeg] | None = None, also: Sequence[str] = ()
) -> bool:
    """Re-derive the group's status from its legs (all of them, if the caller holds them) and close
    it when nothing is left; True if it changed (saved with the `also` fields)."""
    rows = (
        [(leg.qty, leg.filled_qty, leg.closed_qty, leg.state) for leg in legs]
        if legs is not None
        else group.legs.values_list("qty", "filled_qty", "closed_qty", "state")
    )
    progress = [
        LegProgress(
            qty=qty,
            filled_qty=filled,
            closed_qty=closed,
            accepted=state != LegState.PENDING,
            entry_done=state in LEG_ENTRY_DONE,
            skipped=state == LegState.SKIPPED,
        )
        for qty, filled, closed, state in rows
    ]
    closing = group.status == GroupStatus.CLOSING
    status = derive_group_status(progress, closing, False)
    if status != derive_group_status(progress, closing, True):  # only then do live close orders matter
        close_live = group.orders.filter(state__in=LIVE_ORDER_STATES).exclude(purpose__in=ENTRY_PURPOSES)
        status = derive_group_status(progress, closing, close_live.exists())
    if status == group.status:
        return False
    values = {"status": status, "updated_at": timezone.now(), **{name: getattr(group, name) for name in also}}
    if status == GroupStatus.CLOSED:
        values.update(closed_at=ctx.now(), close_reason=group.close_reason or "all legs closed")
    # A closed group is final. Only the path that actually moves it records the close: another one
    # still holding the group as it was before (the TP sweep, the risk cycle, a second report on
    # the same close) changes nothing, so the close is told once.
    if not PositionGroup.objects.filter(pk=group.pk).exclude(status=GroupStatus.CLOSED).update(**values):
        group.refresh_from_db(fields=["status", "closed_at", "close_reason"])
        return False
    for name, value in values.items():
        setattr(group, name, value)
    if status == GroupStatus.CLOSED:
        ctx.forget(POOL)
        group.refresh_from_db(fields=["realized_pnl"])
        events.record(
            events.Category.SIGNAL,
            f"group #{group.pk} closed ({group.close_reason}); realised {usd(group.realized_pnl)} USDT;"
            " pool slot released",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )
    return True


def open_orders_of(group: PositionGroup, purposes: set[str]) -> list[Order]:
    return list(group.orders.filter(state__in=LIVE_ORDER_STATES, purpose__in=purposes).order_by("id"))


__all__ = ["book_fill", "order_finished", "refresh_group", "settle", "open_orders_of", "OrderState"]
