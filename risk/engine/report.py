"""The risk evaluation as JSON: what the console and `GET /api/v1/risk` show."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from risk.core import GroupEvaluation, RiskPlan, available_offsets
from risk.core.plan import PlannedClose
from risk.core.snapshot import GroupSnapshot


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def close_json(close: PlannedClose | None) -> dict[str, Any] | None:
    if close is None:
        return None
    return {
        "group_id": close.group_id,
        "fraction": _dec(close.fraction),
        "full_close": close.full_close,
        "qty": _dec(close.qty),
        "usd": _dec(close.usd),
        "legs": [{"leg_id": leg_id, "qty": _dec(qty)} for leg_id, qty in close.leg_qtys],
    }


def evaluation_json(evaluation: GroupEvaluation, snapshot: GroupSnapshot | None) -> dict[str, Any]:
    remaining = evaluation.timer_remaining
    return {
        "group_id": evaluation.group_id,
        "symbol": snapshot.symbol if snapshot else "",
        "loss_percent": _dec(evaluation.loss_percent),
        "unrealised_usd": _dec(evaluation.unrealised_usd),
        "pyramids_received": evaluation.pyramids_received,
        "max_pyramids": evaluation.max_pyramids,
        "timer_started_at": snapshot.timer_started_at.isoformat()
        if snapshot and snapshot.timer_started_at
        else None,
        "timer_remaining_sec": int(remaining.total_seconds()) if remaining is not None else None,
        "age_ok": evaluation.age_ok,
        "eligible": evaluation.eligible,
        "blocked": snapshot.blocked if snapshot else False,
        "reasons": list(evaluation.reasons),
    }


def report_json(plan: RiskPlan, groups: list[GroupSnapshot], evaluated_at: datetime) -> dict[str, Any]:
    by_id = {g.group_id: g for g in groups}
    exclude = [plan.loser.group_id] if plan.loser else []
    count, total = available_offsets(groups, exclude)
    return {
        "evaluated_at": evaluated_at.isoformat(),
        "groups": [evaluation_json(e, by_id.get(e.group_id)) for e in plan.evaluations],
        "offsets": {"count": count, "total_usd": _dec(total)},
        "plan": {
            "action": plan.action,
            "reason": plan.reason,
            "required_usd": _dec(plan.required_usd),
            "covered_usd": _dec(plan.covered_usd),
            "net_usd": _dec(plan.net_usd),
            "loser": close_json(plan.loser),
            "winners": [close_json(w) for w in plan.winners],
        },
    }
