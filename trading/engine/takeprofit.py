"""Engine-monitored take-profit: on each price update, evaluate every live group and close what hit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import F

from .. import events
from ..core.clientid import Purpose
from ..core.numbers import fmt
from ..core.precision import fits, floor_qty
from ..core.takeprofit import OpenLeg, TpDecision, evaluate_take_profit
from ..core.types import MarketRules, Side, TpMode
from ..models import DcaLeg, Event, GroupStatus, PositionGroup
from . import fills, positions
from . import prices as price_feed
from .context import EngineContext

TP_STATUSES = [GroupStatus.PARTIALLY_FILLED, GroupStatus.ACTIVE, GroupStatus.LIVE]


Market = tuple[int, str]  # (account id, symbol)


def open_legs_by_group(markets: set[Market] | None = None) -> dict[int, list[OpenLeg]]:
    qs = DcaLeg.objects.filter(group__status__in=TP_STATUSES, filled_qty__gt=F("closed_qty"))
    if markets is not None:
        qs = qs.filter(
            group__account_id__in={a for a, _ in markets}, group__symbol__in={s for _, s in markets}
        )
    legs: dict[int, list[OpenLeg]] = defaultdict(list)
    for leg_id, group_id, account_id, symbol, filled, closed, avg, tp, tp_price in qs.values_list(
        "id",
        "group_id",
        "group__account_id",
        "group__symbol",
        "filled_qty",
        "closed_qty",
        "avg_fill_price",
        "tp_percent",
        "pyramid__take_profit",
    ):
        if markets is None or (account_id, symbol) in markets:
            legs[group_id].append(
                OpenLeg(
                    leg_id=leg_id,
                    open_qty=filled - closed,
                    avg_fill_price=avg,
                    tp_percent=tp,
                    tp_price=tp_price,
                )
            )
    return legs


def stopped_groups(markets: set[Market]) -> set[int]:
    """Groups of these markets with a stop-loss: watched even while they hold nothing."""
    rows = PositionGroup.objects.filter(
        status__in=TP_STATUSES,
        stop_loss__isnull=False,
        account_id__in={a for a, _ in markets},
        symbol__in={s for _, s in markets},
    ).values_list("pk", "account_id", "symbol")
    return {pk for pk, account_id, symbol in rows if (account_id, symbol) in markets}


def markets_to_evaluate(
    ctx: EngineContext, symbols: set[str] | None
) -> tuple[set[Market], dict[Market, Decimal]]:
    """Markets whose price moved since they were last evaluated, or that had fills since."""
    held = set(
        PositionGroup.objects.filter(status__in=TP_STATUSES).values_list("account_id", "symbol").distinct()
    )
    if symbols is not None:
        held = {m for m in held if m[1] in symbols}
    prices = price_feed.fetch(ctx, held)
    due = {m for m, price in prices.items() if ctx.evaluated_prices.get(m) != price} | (ctx.tp_dirty & held)
    return due, prices


def sweep(ctx: EngineContext, symbols: set[str] | None = None) -> int:
    """Evaluate TP where a price moved or a fill landed; returns how many closes were sent.

    Loading every open leg on every sync was 10-15x the evaluation itself at 1,000 groups; an
    unchanged price over unchanged legs cannot trigger anything new.
    """
    due, prices = markets_to_evaluate(ctx, symbols)
    if not due:
        return 0
    ctx.tp_dirty -= due
    ctx.evaluated_prices.update({m: prices[m] for m in due if m in prices})
    legs = open_legs_by_group(due)
    watched = set(legs) | stopped_groups(due)
    if not watched:
        return 0
    groups = list(PositionGroup.objects.filter(pk__in=watched))
    sent = 0
    for group in groups:
        price = prices.get((group.account_id, group.symbol))
        if price is None:
            continue
        decision = evaluate_take_profit(
            Side(group.side),
            legs.get(group.pk, []),
            price,
            TpMode(group.tp_mode),
            group.aggregate_tp_percent,
            stop_loss=group.stop_loss,
        )
        if (decision.close_group or decision.legs) and execute(ctx, group, decision, price):
            sent += 1
    return sent


def execute(ctx: EngineContext, group: PositionGroup, decision: TpDecision, price: Decimal) -> bool:
    """Close what the decision says; False when a leg TP waits because it is too small to sell."""
    if decision.stop:
        events.record(
            events.Category.ORDER,
            f"group #{group.pk}: {decision.reason}; closing the group",
            severity=events.Severity.WARNING,
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )
        positions.close_group(ctx, group, decision.reason, Purpose.EXIT)
        return True
    if decision.close_group:
        events.record(
            events.Category.ORDER,
            f"group #{group.pk}: {decision.reason}; closing the group",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )
        positions.close_group(ctx, group, "aggregate take-profit", Purpose.TP_GROUP)
        return True
    leg_ids = set(decision.legs)
    rules = positions.rules_for(group.account_id, group.symbol)
    if rules is not None and not _sellable(ctx, group, leg_ids, price, rules):
        return False
    # A partially filled leg takes profit on what filled; the rest of its entry order is cancelled,
    # so each leg makes one round trip.
    positions.cancel_entries(ctx, group, "its leg takes profit on what filled", leg_ids)
    available = positions.open_allocations(group)
    allocations = {leg_id: qty for leg_id, qty in available.items() if leg_id in leg_ids}
    positions.close_legs(ctx, group, allocations, Purpose.TP_LEG, rules)
    fills.refresh_group(ctx, PositionGroup.objects.get(pk=group.pk))
    return True


def _sellable(
    ctx: EngineContext, group: PositionGroup, leg_ids: set[int], price: Decimal, rules: MarketRules
) -> bool:
    """Whether the legs' filled quantity passes the venue minimums at `price`.

    A partly filled leg can hold less than the exchange accepts. Cancelling its entry order and
    sending a close that pre-flight must block would strand it (and repeat on every price update),
    so the leg keeps filling and takes profit once it can be sold; an exit or aggregate TP still
    closes it together with the rest of the group.
    """
    qty = floor_qty(
        sum((q for k, q in positions.open_allocations(group).items() if k in leg_ids), Decimal(0)), rules
    )
    if fits(price, qty, rules):
        return True
    message = (
        f"group #{group.pk}: take-profit reached but {fmt(qty)} {group.symbol} is below the exchange"
        " minimum; held until it can be sold (a partly filled leg keeps filling) or the group closes"
    )
    if not Event.objects.filter(group_id_ref=group.pk, message=message).exists():  # log once, not per tick
        events.record(
            events.Category.PRECISION,
            message,
            severity=events.Severity.WARNING,
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )
    return False
