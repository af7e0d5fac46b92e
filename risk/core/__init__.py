"""The risk engine's pure core: snapshots in, an eligibility report and one risk plan out.

No Django, no ccxt, no clock reads (`now` is an argument), Decimal throughout.
"""

from __future__ import annotations

from .eligibility import GroupEvaluation, evaluate_group
from .plan import PlannedClose, RiskPlan, available_offsets, close_too_small, plan_risk_action, size_close
from .pnl import GroupPnl, close_usd, group_pnl, snapshot_pnl
from .snapshot import GroupSnapshot, LegPosition, RiskSettings, TimerStart
from .timer import on_replacement, timer_remaining, timer_should_start, timer_start

__all__ = [
    "GroupEvaluation",
    "GroupPnl",
    "GroupSnapshot",
    "LegPosition",
    "PlannedClose",
    "RiskPlan",
    "RiskSettings",
    "TimerStart",
    "available_offsets",
    "close_too_small",
    "close_usd",
    "evaluate_group",
    "group_pnl",
    "on_replacement",
    "plan_risk_action",
    "size_close",
    "snapshot_pnl",
    "timer_remaining",
    "timer_should_start",
    "timer_start",
]
