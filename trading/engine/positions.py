"""Opening groups, adding pyramids and closing positions: each step committed as it happens."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from exchanges.core.adapter import ExchangeError, OrderType
from exchanges.models import ExchangeAccount, MarketRule

from .. import events
from ..compiled import save_fields
from ..config_schema import dca_levels
from ..core.allocation import allocate_reduce
from ..core.clientid import Purpose
from ..core.ladder import LadderPlan, build_ladder, dca0_guard_price
from ..core.numbers import fmt
from ..core.precision import floor_qty
from ..core.sizing import PyramidSize
from ..core.types import MarketRules, Side
from ..models import DcaLeg, GroupStatus, LegState, OrderState, PositionGroup, Pyramid, Signal
from ..models.orders import LIVE_ORDER_STATES
from . import dispatch, fills, markets, orders
from .context import POOL, EngineContext


@dataclass(frozen=True)
class RiskLevels:
    """The signal's own risk.stop_loss (for the group) and risk.take_profit (for its pyramid)."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


def rules_for(account_id: int, symbol: str, ctx: EngineContext | None = None) -> MarketRules | None:
    """The active market's precision rules (through the engine's cache when `ctx` is given)."""
    if ctx is not None:
        row = markets.rule_row(ctx, account_id, "symbol", symbol)
        return row.to_rules() if row is not None and row.active else None
    row = MarketRule.objects.filter(account_id=account_id, symbol=symbol, active=True).first()
    return row.to_rules() if row is not None else None


def plan_pyramid(
    ctx: EngineContext, side: Side, base_price: Decimal, size: PyramidSize, rules: MarketRules
) -> LadderPlan:
    return build_ladder(side, base_price, size, dca_levels(ctx.cfg), rules)


def open_group(
    ctx: EngineContext,
    account: ExchangeAccount,
    signal: Signal,
    side: Side,
    plan: LadderPlan,
    size: PyramidSize,
    rules: MarketRules,
    levels: RiskLevels = RiskLevels(),
) -> PositionGroup:
    with orders.fenced(ctx):
        group = PositionGroup.objects.create(
            account=account,
            symbol=signal.symbol,
            timeframe=signal.timeframe,
            side=side.value,
            status=GroupStatus.WAITING,
            tp_mode=ctx.cfg.grid_strategy.tp_mode.value,
            aggregate_tp_percent=ctx.cfg.grid_strategy.aggregate_tp_percent,
            stop_loss=levels.stop_loss,
            opened_at=ctx.now(),
            pyramid_count=1,  # its first pyramid, added below in the same transaction
        )
        ctx.forget(POOL)
        events.record(
            events.Category.SIGNAL,
            f"opened group #{group.pk} {group.symbol} {group.timeframe} {side.value}",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            signal_id=signal.pk,
            now=ctx.now(),
        )
        add_pyramid(ctx, group, signal, plan, size, rules, levels, new_group=True)
    return group


def add_pyramid(
    ctx: EngineContext,
    group: PositionGroup,
    signal: Signal,
    plan: LadderPlan,
    size: PyramidSize,
    rules: MarketRules,
    levels: RiskLevels = RiskLevels(),
    *,
    new_group: bool = False,
) -> Pyramid:
    slippage = signal.max_slippage_percent
    if slippage is None:
        slippage = ctx.cfg.grid_strategy.max_slippage_percent
    with orders.fenced(ctx):
        pyramid = Pyramid.objects.create(
            group=group,
            index=0 if new_group else group.pyramid_count,
            signal=signal,
            base_price=plan.base_price,
            size_amount=size.amount,
            size_unit=size.unit,
            max_slippage_percent=slippage,
            take_profit=levels.take_profit,
            adjustments=list(plan.adjustments),
            created_at=ctx.now(),
        )
        legs = DcaLeg.objects.bulk_create(
            [
                DcaLeg(
                    pyramid=pyramid,
                    group=group,
                    index=planned.index,
                    gap_percent=planned.gap_percent,
                    weight_percent=planned.weight_percent,
                    tp_percent=planned.tp_percent,
                    price=planned.price,
                    qty=planned.qty,
                    state=LegState.SKIPPED if planned.skipped else LegState.PENDING,
                    merged_into=planned.merged_into,
                )
                for planned in plan.legs
            ]
        )
        if not new_group:  # a new group was created counting its first pyramid
            group.pyramid_count += 1
            changed = ("pyramid_count", "updated_at")
            if levels.stop_loss is not None and levels.stop_loss != group.stop_loss:
                group.stop_loss = levels.stop_loss  # the latest entry's stop is the group's
                changed += ("stop_loss",)
            save_fields(group, changed)
        _record_levels(ctx, group, pyramid, levels)
        if plan.adjustments:
            events.record(
                events.Category.PRECISION,
                f"ladder of P{pyramid.index} adjusted before sending: " + "; ".join(plan.adjustments),
                severity=events.Severity.WARNING,
                symbol=group.symbol,
                timeframe=group.timeframe,
                group_id=group.pk,
                now=ctx.now(),
            )
        place_pyramid_orders(ctx, group, pyramid, legs, rules)
        # A new group's legs are all it has: its status follows from them without reading them back.
        fills.refresh_group(ctx, group, legs if new_group else None)
    return pyramid


def _record_levels(ctx: EngineContext, group: PositionGroup, pyramid: Pyramid, levels: RiskLevels) -> None:
    notes = []
    if levels.stop_loss is not None:
        notes.append(f"group stop-loss {fmt(levels.stop_loss)}")
    if levels.take_profit is not None:
        notes.append(f"P{pyramid.index} take-profit {fmt(levels.take_profit)} (instead of its leg TPs)")
    if notes:
        events.record(
            events.Category.SIGNAL,
            f"group #{group.pk}: " + "; ".join(notes) + " from the signal",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            signal_id=pyramid.signal_id,
            now=ctx.now(),
        )


def place_pyramid_orders(
    ctx: EngineContext, group: PositionGroup, pyramid: Pyramid, legs: list[DcaLeg], rules: MarketRules
) -> None:
    """Queue one order per leg (the legs were just created: each order is its leg's attempt 0)."""
    side = Side(group.side)
    ladder = sorted((leg for leg in legs if leg.state != LegState.SKIPPED), key=lambda leg: leg.index)
    built = []
    for leg in ladder:
        if leg.index == 0:
            # DCA0 is a marketable limit: it fills at once like a market order, never beyond the guard.
            price = dca0_guard_price(side, pyramid.base_price, pyramid.max_slippage_percent, rules)
            purpose = Purpose.ENTRY
        else:
            price, purpose = leg.price, Purpose.DCA
        built.append(
            orders.build_order(
                ctx,
                group=group,
                leg=leg,
                purpose=purpose,
                side=side.entry_order_side,
                order_type=OrderType.LIMIT.value,
                qty=leg.qty,
                price=price,
                attempt=0,
            )
        )
    for order in orders.insert_orders(ctx, built):
        if not orders.preflight(ctx, order, rules, order.price):
            order.leg.state = LegState.CANCELLED
            order.leg.save(update_fields=["state", "updated_at"])
    # The whole ladder is queued first, then leaves within the account's rate limits.
    dispatch.dispatch(ctx, {group.account_id})


def last_price(ctx: EngineContext, group: PositionGroup) -> Decimal | None:
    try:
        account = ctx.account_by_id(group.account_id)
        return ctx.adapter(account).fetch_prices([group.symbol]).get(group.symbol)
    except ExchangeError:
        return None


def close_legs(
    ctx: EngineContext,
    group: PositionGroup,
    allocations: dict[int, Decimal],
    purpose: Purpose,
    rules: MarketRules | None,
) -> bool:
    """One market order closing the given quantity of each leg. False if nothing could be sent."""
    allocations = {leg_id: qty for leg_id, qty in allocations.items() if qty > 0}
    if not allocations:
        return False
    total = sum(allocations.values(), Decimal(0))
    if rules is not None:
        total = floor_qty(total, rules)
    side = Side(group.side)
    order = orders.new_order(
        ctx,
        group=group,
        leg=None,
        purpose=purpose,
        side=side.exit_order_side,
        order_type=OrderType.MARKET.value,
        qty=total,
        price=None,
        allocations={str(k): str(v) for k, v in allocations.items()},
    )
    reference = last_price(ctx, group)
    if rules is not None and reference is not None and not orders.preflight(ctx, order, rules, reference):
        return False
    dispatch.dispatch(ctx, {group.account_id})
    return True


def open_allocations(group: PositionGroup) -> dict[int, Decimal]:
    """Each leg's filled-and-not-closed quantity, less what a live close order already covers."""
    inflight: dict[int, Decimal] = {}
    for order in fills.open_orders_of(group, {p.value for p in Purpose} - fills.ENTRY_PURPOSES):
        remaining = order.qty - order.filled_qty
        for leg_id, qty in sorted(order.allocations.items(), key=lambda item: int(item[0])):
            take = min(Decimal(qty), remaining)
            inflight[int(leg_id)] = inflight.get(int(leg_id), Decimal(0)) + take
            remaining -= take
    result: dict[int, Decimal] = {}
    for leg in group.legs.all():
        free = leg.open_qty - inflight.get(leg.pk, Decimal(0))
        if free > 0:
            result[leg.pk] = free
    return result


def cancel_entries(
    ctx: EngineContext, group: PositionGroup, reason: str, leg_ids: set[int] | None = None
) -> None:
    """Cancel the group's live entry orders (of `leg_ids` only, if given); each cancel tells `reason`."""
    chosen = [
        order
        for order in fills.open_orders_of(group, fills.ENTRY_PURPOSES)
        if leg_ids is None or order.leg_id in leg_ids
    ]
    # Unsent ones need no request: dropped together (only the last change can close the group).
    unsent = [order for order in chosen if order.state == OrderState.QUEUED]
    sent = [order for order in chosen if order.state != OrderState.QUEUED]
    if unsent:
        orders.drop_unsent_entries(ctx, group, unsent, reason)
    orders.cancel_sent(ctx, sent, reason)


def close_group(
    ctx: EngineContext, group: PositionGroup, reason: str, purpose: Purpose = Purpose.EXIT
) -> None:
    """Exit: cancel every unfilled DCA order, close every filled quantity, release the slot when done.

    A group another path closed since the caller read it (the TP sweep and the risk cycle act on
    groups they loaded first) stays closed: nothing is cancelled, sent or recorded again.
    """
    reason = reason[: PositionGroup._meta.get_field("close_reason").max_length]
    still_open = PositionGroup.objects.filter(pk=group.pk).exclude(status=GroupStatus.CLOSED)
    if not still_open.update(status=GroupStatus.CLOSING, close_reason=reason, updated_at=timezone.now()):
        group.refresh_from_db()
        return
    group.status, group.close_reason = GroupStatus.CLOSING, reason
    # Cancel first: a leg that fills while we cancel is then part of the close.
    cancel_entries(ctx, group, f"group #{group.pk} closing ({reason})")
    group.refresh_from_db()
    rules = rules_for(group.account_id, group.symbol, ctx)
    sent = close_legs(ctx, group, open_allocations(group), purpose, rules)
    if not sent:
        _write_off_dust(ctx, group)
    fills.refresh_group(ctx, PositionGroup.objects.get(pk=group.pk))


def finish_closing(ctx: EngineContext) -> int:
    """Close what a Closing group still holds once nothing of it is live at its venue.

    A leg whose cancel the venue confirmed too late (an outage: `orders.retry_cancels`) can fill
    after the group's close order has filled. Nothing else would close that quantity: the trader's
    exit would leave it bought and the group Closing for good. Returns the groups acted on.
    """
    acted = 0
    for group in PositionGroup.objects.filter(status=GroupStatus.CLOSING).order_by("id"):
        if group.orders.filter(state__in=LIVE_ORDER_STATES).exists():
            continue  # its close, or a cancel, is still under way
        with ctx.write():
            _close_the_rest(ctx, group)
        acted += 1
    return acted


def _close_the_rest(ctx: EngineContext, group: PositionGroup) -> None:
    left = open_allocations(group)
    if left:
        events.record(
            events.Category.ORDER,
            f"group #{group.pk}: {fmt(sum(left.values()))} {group.symbol} filled after its close;"
            " closing it too",
            severity=events.Severity.WARNING,
            symbol=group.symbol,
            group_id=group.pk,
            now=ctx.now(),
        )
    # Closed the way it was being closed (exit, risk, reverse): its last close order says how.
    how = (
        group.orders.exclude(purpose__in=fills.ENTRY_PURPOSES)
        .order_by("-id")
        .values_list("purpose", flat=True)
    )
    purpose = Purpose(how.first() or Purpose.EXIT.value)
    if not close_legs(ctx, group, left, purpose, rules_for(group.account_id, group.symbol, ctx)):
        _write_off_dust(ctx, group)
    fills.refresh_group(ctx, PositionGroup.objects.get(pk=group.pk))


def _write_off_dust(ctx: EngineContext, group: PositionGroup) -> None:
    """What is left is below the exchange minimum: it cannot be sold, so the group lets it go."""
    leftovers = open_allocations(group)
    if not leftovers:
        return
    for leg in group.legs.filter(pk__in=leftovers):
        leg.closed_qty = leg.filled_qty
        leg.state = LegState.CLOSED
        leg.save(update_fields=["closed_qty", "state", "updated_at"])
    events.record(
        events.Category.PRECISION,
        f"group #{group.pk}: {fmt(sum(leftovers.values()))} {group.symbol} left as dust (below the exchange minimum)",
        severity=events.Severity.WARNING,
        symbol=group.symbol,
        group_id=group.pk,
        now=ctx.now(),
    )


def reduce_group(ctx: EngineContext, group: PositionGroup, qty: Decimal) -> Decimal:
    """Close `qty` proportionally across filled legs, keeping the ladder's shape. Returns qty sent.

    The order's quantity is `qty` on the step grid (capped at what is open), shared out so the
    legs add up to exactly that (`allocate_reduce`), never one step short.
    """
    rules = rules_for(group.account_id, group.symbol, ctx)
    allocations = allocate_reduce(qty, open_allocations(group), rules.step_size if rules else None)
    if not close_legs(ctx, group, allocations, Purpose.REDUCE, rules):
        return Decimal(0)
    fills.refresh_group(ctx, PositionGroup.objects.get(pk=group.pk))
    return sum(allocations.values(), Decimal(0))
