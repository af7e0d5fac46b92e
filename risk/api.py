"""`/api/v1/risk`: the risk engine's status, per-group eligibility, the projected plan, recent actions,
and the operator's controls (through the command table, like every write)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from risk.engine.cycle import realised_usd
from risk.models import RiskAction, RiskEngineState
from trading.api.routes_commands import ACCEPTED, ACCEPTED_OR_404, enqueue
from trading.api.schemas import ErrorOut
from trading.models import PositionGroup

router = Router(tags=["risk"])


class RiskActionOut(Schema):
    id: int
    created_at: datetime
    loser_group_id: int
    action: str
    outcome: str
    required_usd: str
    covered_usd: str
    net_usd: str
    forced: bool
    closes: list[dict[str, Any]]
    realised_usd: dict[str, str]  # loser, winners, net: from the trades its closes produced
    reason: str


class RiskOut(Schema):
    status: str  # active | idle | blocked
    reason: str
    last_evaluated_at: datetime | None
    last_action_at: datetime | None
    evaluated_at: str | None
    groups: list[dict[str, Any]]
    offsets: dict[str, Any]
    plan: dict[str, Any] | None
    recent_actions: list[RiskActionOut]


def _action_out(action: RiskAction) -> dict[str, Any]:
    return {
        "id": action.pk,
        "created_at": action.created_at,
        "loser_group_id": action.loser_group_id,
        "action": action.action,
        "outcome": action.outcome,
        "required_usd": format(action.required_usd.normalize(), "f"),
        "covered_usd": format(action.covered_usd.normalize(), "f"),
        "net_usd": format(action.net_usd.normalize(), "f"),
        "forced": action.forced,
        "closes": action.closes,
        "realised_usd": {side: format(usd.normalize(), "f") for side, usd in realised_usd(action).items()},
        "reason": action.reason,
    }


@router.get("/risk", response=RiskOut)
def risk_overview(request: HttpRequest) -> dict[str, Any]:
    """Status (Active / Idle / Blocked and why), each live group's eligibility, the available winning
    offsets and the projected plan as of the engine's last evaluation, and the recent risk actions."""
    state = RiskEngineState.objects.filter(pk=1).first() or RiskEngineState()
    report = state.report or {}
    return {
        "status": state.status,
        "reason": state.reason,
        "last_evaluated_at": state.last_evaluated_at,
        "last_action_at": state.last_action_at,
        "evaluated_at": report.get("evaluated_at"),
        "groups": report.get("groups", []),
        "offsets": report.get("offsets", {"count": 0, "total_usd": "0"}),
        "plan": report.get("plan"),
        "recent_actions": [_action_out(a) for a in RiskAction.objects.all()[:20]],
    }


class RunIn(Schema):
    force: bool = False


@router.post("/risk/run", response=ACCEPTED)
def run_now(request: HttpRequest, body: RunIn | None = None, force: bool = Query(False)) -> Status[dict]:
    """Run one cycle now, ignoring the interval but not the rules; `force` (query `?force=true` or
    JSON body) also ignores the timer."""
    return enqueue(request, "risk_run", {"force": bool(force or (body and body.force))})


def _group_command(request: HttpRequest, group_id: int, kind: str) -> Status[dict]:
    if not PositionGroup.objects.filter(pk=group_id).exclude(status="closed").exists():
        raise HttpError(404, f"no open group #{group_id}")
    return enqueue(request, kind, {"group_id": group_id})


@router.post("/risk/groups/{group_id}/skip", response=ACCEPTED_OR_404)
def skip_once(request: HttpRequest, group_id: int) -> Status[dict]:
    """Leave this group out of the next risk cycle only."""
    return _group_command(request, group_id, "risk_skip")


@router.post("/risk/groups/{group_id}/block", response=ACCEPTED_OR_404)
def block(request: HttpRequest, group_id: int) -> Status[dict]:
    """Exempt this group from the risk engine until unblocked."""
    return _group_command(request, group_id, "risk_block")


@router.post("/risk/groups/{group_id}/unblock", response=ACCEPTED_OR_404)
def unblock(request: HttpRequest, group_id: int) -> Status[dict]:
    return _group_command(request, group_id, "risk_unblock")


__all__ = ["router", "ErrorOut"]
