"""Whether a group may be the loser this cycle, with every reason it may not (issue 4, rules 1-5).

A group is an eligible loser only when ALL hold:
1. `require_full_pyramids`: it has received `max_pyramids` pyramids;
2. `enable_post_full_wait`: its timer has run `post_full_wait_minutes` (Run Now with force skips this);
3. its loss % ≤ `loss_threshold_percent`;
4. `use_trade_age_filter`: it is at least `age_threshold_minutes` old;
5. it is neither blocked by the operator nor marked skip-once for this cycle.
Every failing rule is recorded, not just the first, for the console's "eligible or why not".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from trading.core.numbers import fmt

from .pnl import GroupPnl
from .snapshot import GroupSnapshot, RiskSettings
from .timer import timer_remaining


@dataclass(frozen=True)
class GroupEvaluation:
    group_id: int
    loss_percent: Decimal | None  # None: not evaluable (no price or nothing open)
    unrealised_usd: Decimal | None
    pyramids_received: int
    max_pyramids: int
    timer_remaining: timedelta | None  # None: the wait is off or the timer has not started
    age_ok: bool  # True when the age filter is off
    eligible: bool
    reasons: tuple[str, ...]  # why not eligible; empty when eligible


def evaluate_group(
    group: GroupSnapshot,
    pnl: GroupPnl | None,
    settings: RiskSettings,
    now: datetime,
    force: bool = False,
) -> GroupEvaluation:
    """Check rules 1-5 for one group; `force` (Run Now with force) ignores the timer and nothing else."""
    reasons: list[str] = []
    if pnl is None:
        reasons.append("no current price" if group.price is None else "no open filled quantity")

    if settings.require_full_pyramids and group.pyramids_received < settings.max_pyramids:
        reasons.append(f"{group.pyramids_received} of {settings.max_pyramids} pyramids received")

    remaining = None
    if settings.enable_post_full_wait:
        remaining = timer_remaining(group.timer_started_at, now, settings.post_full_wait_minutes)
        if not force:
            if remaining is None:
                reasons.append(f"wait timer not started (starts {settings.timer_start_condition.value})")
            elif remaining:
                reasons.append(
                    f"wait timer has {_duration(remaining)} of {settings.post_full_wait_minutes} min left"
                )

    if pnl is not None and pnl.loss_percent > settings.loss_threshold_percent:
        reasons.append(
            f"loss {fmt(pnl.loss_percent, 2)} % is above the threshold {fmt(settings.loss_threshold_percent)} %"
        )

    age_ok = True
    if settings.use_trade_age_filter:
        age = now - group.opened_at
        age_ok = age >= timedelta(minutes=settings.age_threshold_minutes)
        if not age_ok:
            reasons.append(f"age {_duration(age)} is under {settings.age_threshold_minutes} min")

    if group.blocked:
        reasons.append("blocked by the operator")
    if group.skip_once:
        reasons.append("skip once for this cycle")

    return GroupEvaluation(
        group_id=group.group_id,
        loss_percent=None if pnl is None else pnl.loss_percent,
        unrealised_usd=None if pnl is None else pnl.unrealised_usd,
        pyramids_received=group.pyramids_received,
        max_pyramids=settings.max_pyramids,
        timer_remaining=remaining,
        age_ok=age_ok,
        eligible=not reasons,
        reasons=tuple(reasons),
    )


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
