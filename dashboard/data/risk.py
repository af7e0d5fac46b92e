"""Section C: per-group risk figures from what exists today, offsets, recent risk actions.

The projected plan waits for the risk engine (`risk/core`); until the engine runs it, the plan
fragment says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from trading import config_service
from trading.models import Event, PositionGroup
from trading.models.groups import OPEN_STATUSES

from ..commands import pending_kinds, pending_labels
from .metrics import GroupFigures, figures_for
from .state import ViewState

ROWS_SHOWN = 200
_ZERO = Decimal(0)


@dataclass
class RiskRow:
    group: PositionGroup
    fig: GroupFigures
    pyramids_full: bool
    timer_deadline: datetime | None  # when the post-full wait ends
    age: timedelta
    age_ok: bool | None  # None: the age filter is off
    pending: list[str] = field(default_factory=list)


def table(view: ViewState) -> dict:
    cfg = config_service.current()
    risk = cfg.risk_engine
    max_pyramids = cfg.grid_strategy.max_pyramids_per_group
    groups = list(PositionGroup.objects.filter(status__in=OPEN_STATUSES).select_related("account"))
    figs = figures_for(groups, open_only=True)
    pending = pending_labels()
    rows = []
    for group in groups:
        deadline = None
        if risk.enable_post_full_wait and group.risk_timer_started_at:
            deadline = group.risk_timer_started_at + timedelta(minutes=risk.post_full_wait_minutes)
        age = view.now - group.opened_at
        rows.append(
            RiskRow(
                group=group,
                fig=figs[group.pk],
                pyramids_full=group.pyramid_count >= max_pyramids,
                timer_deadline=deadline,
                age=age,
                age_ok=(age >= timedelta(minutes=risk.age_threshold_minutes))
                if risk.use_trade_age_filter
                else None,
                pending=pending.get(("group_id", group.pk), []),
            )
        )
    # Worst loss first; groups without a price last.
    rows.sort(key=lambda r: (r.fig.unrealised_pct is None, r.fig.unrealised_pct or _ZERO))
    winners = [r.fig.unrealised for r in rows if r.fig.unrealised is not None and r.fig.unrealised > 0]
    return {
        "risk_rows": rows[:ROWS_SHOWN],
        "risk_total": len(rows),
        "risk_cfg": risk,
        "max_pyramids": max_pyramids,
        "offsets_count": len(winners),
        "offsets_usd": sum(winners, _ZERO),
        "losers": sum(
            1
            for r in rows
            if r.fig.unrealised_pct is not None and r.fig.unrealised_pct <= risk.loss_threshold_percent
        ),
        "can_act": view.can_act,
    }


def plan(view: ViewState) -> dict:
    """The projected plan. Placeholder until the risk engine computes and publishes one."""
    return {
        "plan_active": False,
        "plan_message": "risk engine not active yet",
        "run_pending": "risk_run" in pending_kinds(),
        "can_act": view.can_act,
    }


def actions(view: ViewState) -> dict:
    return {"risk_events": list(Event.objects.filter(category=Event.Category.RISK).order_by("-id")[:15])}
