"""Build the risk core's snapshots from the database (read only)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Max

from exchanges.models import MarketRule
from risk.core import GroupSnapshot, LegPosition, RiskSettings, TimerStart
from trading.config_schema import EngineConfig
from trading.core.clientid import Purpose
from trading.core.types import Side
from trading.engine import prices as price_feed
from trading.engine.context import EngineContext
from trading.models import DcaLeg, LegState, Order, PositionGroup, Pyramid
from trading.models.groups import OPEN_STATUSES


def settings_from(cfg: EngineConfig) -> RiskSettings:
    return RiskSettings.from_config(cfg.risk_engine, cfg.grid_strategy.max_pyramids_per_group)


def live_groups() -> list[PositionGroup]:
    return list(
        PositionGroup.objects.filter(status__in=OPEN_STATUSES).exclude(status="closing").order_by("id")
    )


def open_legs(group_ids: list[int]) -> dict[int, list[LegPosition]]:
    legs: dict[int, list[LegPosition]] = defaultdict(list)
    rows = DcaLeg.objects.filter(group_id__in=group_ids, filled_qty__gt=F("closed_qty")).values_list(
        "id", "group_id", "filled_qty", "closed_qty", "avg_fill_price", "entry_fees"
    )
    for leg_id, group_id, filled, closed, avg, fees in rows:
        open_qty = filled - closed
        # Only the open quantity's share of the entry fees is still "paid and unrealised".
        share = fees * open_qty / filled if filled else Decimal(0)
        legs[group_id].append(
            LegPosition(leg_id=leg_id, open_qty=open_qty, avg_fill_price=avg, entry_fees=share)
        )
    return legs


def rules_by_market(groups: list[PositionGroup]) -> dict[tuple[int, str], object]:
    keys = {(g.account_id, g.symbol) for g in groups}
    rows = MarketRule.objects.filter(account_id__in={k[0] for k in keys}, symbol__in={k[1] for k in keys})
    return {(row.account_id, row.symbol): row.to_rules() for row in rows}


def snapshots(ctx: EngineContext, groups: list[PositionGroup] | None = None) -> list[GroupSnapshot]:
    groups = live_groups() if groups is None else groups
    ids = [g.pk for g in groups]
    legs = open_legs(ids)
    prices = price_feed.fetch(ctx, ((g.account_id, g.symbol) for g in groups))
    rules = rules_by_market(groups)
    return [
        GroupSnapshot(
            group_id=g.pk,
            symbol=g.symbol,
            side=Side(g.side),
            opened_at=g.opened_at,
            pyramids_received=g.pyramid_count,
            timer_started_at=g.risk_timer_started_at,
            blocked=g.risk_blocked,
            skip_once=g.risk_skip_once,
            price=prices.get((g.account_id, g.symbol)),
            legs=tuple(legs.get(g.pk, ())),
            rules=rules.get((g.account_id, g.symbol)),  # type: ignore[arg-type]
        )
        for g in groups
    ]


def dca_progress(group_ids: list[int]) -> dict[int, tuple[bool, bool]]:
    """Per group: (every DCA order accepted by the exchange, every leg filled)."""
    if not group_ids:
        return {}  # the commonest call (a full group's timer already runs): no query to build
    submitted: dict[int, bool] = defaultdict(lambda: True)
    filled: dict[int, bool] = defaultdict(lambda: True)
    rows = (
        DcaLeg.objects.filter(group_id__in=group_ids)
        .exclude(state=LegState.SKIPPED)
        .values_list("group_id", "state")
    )
    for group_id, state in rows:
        if state == LegState.PENDING:
            submitted[group_id] = False
        if state in (LegState.PENDING, LegState.OPEN, LegState.PARTIALLY_FILLED):
            filled[group_id] = False
    return {gid: (submitted[gid], filled[gid]) for gid in group_ids}


def condition_met_at(group: PositionGroup, condition: TimerStart, max_pyramids: int) -> datetime | None:
    """When the timer's start condition came true, from the engine's own records.

    `after_5_pyramids`: the arrival of the last allowed pyramid. The DCA conditions: the latest
    change (acceptance or fill) of the group's entry orders — exact for "all filled", since filled
    orders never change again; for "all submitted" a later fill can only make it later, never early.
    """
    pyramids = Pyramid.objects.filter(group=group, index__lt=max_pyramids)
    arrived = pyramids.aggregate(at=Max("created_at"))["at"]
    if condition is TimerStart.AFTER_5_PYRAMIDS:
        return arrived
    changed = Order.objects.filter(
        group=group, purpose__in=[Purpose.ENTRY.value, Purpose.DCA.value]
    ).aggregate(at=Max("updated_at"))["at"]
    return max((at for at in (arrived, changed) if at is not None), default=None)
