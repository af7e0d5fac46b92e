"""Section C: per-group risk figures, each group's eligibility and the projected plan as of the risk
engine's last evaluation (`RiskEngineState.report`), and the recent risk actions.

Loss figures are live (this page's own metrics at the current price); eligibility, offsets and the
plan are the engine's, from its last cycle. Before the engine has evaluated once, the plan fragment
says the risk engine is not active yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from risk.api import risk_overview
from trading import config_service
from trading.models import PositionGroup
from trading.models.groups import OPEN_STATUSES

from ..commands import pending_kinds, pending_labels
from .grid import NO_GRID, Grid, grids_for
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
    eligible: bool | None  # None: not in the engine's last evaluation
    reasons: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)


def _report(view: ViewState) -> dict[str, Any]:
    """`GET /api/v1/risk`'s answer, read once per render."""
    if "risk" not in view.memo:
        view.memo["risk"] = risk_overview(None)  # type: ignore[arg-type] - the route ignores its request
    return view.memo["risk"]


def table(view: ViewState) -> dict:
    cfg = config_service.current()
    risk = cfg.risk_engine
    max_pyramids = cfg.grid_strategy.max_pyramids_per_group
    groups = list(PositionGroup.objects.filter(status__in=OPEN_STATUSES))
    figs = figures_for(groups, open_only=True)
    pending = pending_labels()
    report = _report(view)
    evaluated = {g["group_id"]: g for g in report["groups"]}
    rows = []
    for group in groups:
        deadline = None
        if risk.enable_post_full_wait and group.risk_timer_started_at:
            deadline = group.risk_timer_started_at + timedelta(minutes=risk.post_full_wait_minutes)
        age = view.now - group.opened_at
        seen = evaluated.get(group.pk)
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
                eligible=seen["eligible"] if seen else None,
                reasons=list(seen["reasons"]) if seen else [],
                pending=pending.get(("group_id", group.pk), []),
            )
        )
    # Worst loss first; groups without a price last.
    rows.sort(key=lambda r: (r.fig.unrealised_pct is None, r.fig.unrealised_pct or _ZERO))
    offsets = report["offsets"]
    return {
        "risk_rows": rows[:ROWS_SHOWN],
        "risk_total": len(rows),
        "risk_cfg": risk,
        "max_pyramids": max_pyramids,
        "offsets_count": offsets.get("count", 0),
        "offsets_usd": Decimal(str(offsets.get("total_usd") or 0)),
        "losers": sum(1 for r in rows if r.eligible),
        "can_act": view.can_act,
    }


def _close(
    close: dict[str, Any] | None, names: dict[int, str], grids: dict[int, Grid]
) -> dict[str, Any] | None:
    if not close:
        return None
    group_id = close["group_id"]
    return {**close, "name": names.get(group_id, f"#{group_id}"), "grid": grids.get(group_id, NO_GRID)}


def plan(view: ViewState) -> dict:
    """The projected plan from the engine's last evaluation, or why there is none."""
    report = _report(view)
    raw = report.get("plan")
    projected = None
    if report.get("evaluated_at") and raw:
        ids = [c["group_id"] for c in [raw.get("loser"), *raw.get("winners", [])] if c]
        groups = list(
            PositionGroup.objects.filter(pk__in=ids).only("account_id", "symbol", "timeframe", "side")
        )
        names = {g.pk: f"{g.symbol} {g.timeframe} #{g.pk}" for g in groups}
        by_market = grids_for((g.account_id, g.symbol, g.side) for g in groups)
        grids = {g.pk: by_market[(g.account_id, g.symbol)] for g in groups}
        projected = {
            **raw,
            "loser": _close(raw.get("loser"), names, grids),
            "winners": [_close(w, names, grids) for w in raw.get("winners", [])],
        }
    return {
        "plan_active": projected is not None,
        "plan": projected,
        "plan_message": "risk engine not active yet: no evaluation so far",
        "risk_status": report["status"],
        "risk_reason": report["reason"],
        "evaluated_at": report.get("last_evaluated_at"),
        "run_pending": "risk_run" in pending_kinds(),
        "can_act": view.can_act,
    }


def actions(view: ViewState) -> dict:
    return {"risk_actions": _report(view)["recent_actions"][:15]}
