"""One risk cycle inside the engine loop: timers, the plan, and its execution as one RiskAction."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from risk.core import RiskPlan, on_replacement, plan_risk_action, timer_should_start
from risk.core.plan import PlannedClose
from risk.models import RiskAction, RiskEngineState
from trading import events
from trading.compiled import CompiledUpdate
from trading.core.clientid import Purpose
from trading.core.numbers import fmt
from trading.engine import positions
from trading.engine.context import EngineContext
from trading.models import Order, PositionGroup, Trade

from .report import report_json
from .snapshots import condition_met_at, dca_progress, live_groups, settings_from, snapshots

_RISK_TIMER = CompiledUpdate(PositionGroup, ("risk_timer_started_at",))

log = logging.getLogger(__name__)


def risk_state() -> RiskEngineState:
    state, _ = RiskEngineState.objects.get_or_create(pk=1)
    return state


def update_timers(ctx: EngineContext, groups: list[PositionGroup]) -> None:
    """Start each group's post-full timer at the moment its start condition came true.

    The cycle that notices it may run an interval later, or much later after a pause or with the
    engine disabled; the wait counts from the event itself, never from the noticing.
    """
    settings = settings_from(ctx.cfg)
    now = ctx.now()
    waiting = [g for g in groups if g.risk_timer_started_at is None]
    progress = dca_progress([g.pk for g in waiting])
    for group in waiting:
        submitted, filled = progress.get(group.pk, (False, False))
        if not timer_should_start(
            settings.timer_start_condition, group.pyramid_count, settings.max_pyramids, submitted, filled
        ):
            continue
        met_at = condition_met_at(group, settings.timer_start_condition, settings.max_pyramids)
        started = min(met_at or now, now)
        group.risk_timer_started_at = started
        _RISK_TIMER.run(group.pk, risk_timer_started_at=started)


def note_replacement(ctx: EngineContext, group: PositionGroup) -> None:
    """A further entry for a group with all its pyramids restarts its timer (`reset_timer_on_replacement`)."""
    settings = settings_from(ctx.cfg)
    update_timers(ctx, [group])  # a timer due to start before this signal must not miss its restart
    restarted = on_replacement(
        group.risk_timer_started_at,
        ctx.now(),
        pyramids_received=group.pyramid_count,
        max_pyramids=settings.max_pyramids,
        reset_timer_on_replacement=settings.reset_timer_on_replacement,
    )
    if restarted != group.risk_timer_started_at:
        _RISK_TIMER.run(group.pk, risk_timer_started_at=restarted)
        events.record(
            events.Category.RISK,
            f"risk timer of group #{group.pk} restarted by a further entry signal",
            symbol=group.symbol,
            timeframe=group.timeframe,
            group_id=group.pk,
            now=ctx.now(),
        )


def projected_plan(ctx: EngineContext, *, force: bool = False) -> RiskPlan:
    """Exactly what the next cycle would do, without doing it (read only)."""
    return plan_risk_action(snapshots(ctx), settings_from(ctx.cfg), ctx.now(), force=force)


def run_cycle(ctx: EngineContext, *, force: bool = False, trigger: str = "interval") -> RiskAction | None:
    """Evaluate, plan and execute at most one risk action."""
    now = ctx.now()
    ctx.last_risk_at, ctx.fills_since_risk = now, 0  # Run Now also restarts the interval
    state = risk_state()
    state.last_evaluated_at = now
    if not ctx.cfg.risk_engine.enabled:
        _set_state(state, RiskEngineState.Status.BLOCKED, "disabled in config (risk_engine.enabled)")
        return None
    groups = live_groups()
    update_timers(ctx, groups)
    snaps = snapshots(ctx, groups)
    plan = plan_risk_action(snaps, settings_from(ctx.cfg), now, force=force)
    state.report = report_json(plan, snaps, now)
    # "Skip once" means this cycle: it is consumed whether or not the group was the candidate.
    skipped = [snap for snap in snaps if snap.skip_once]
    PositionGroup.objects.filter(pk__in=[snap.group_id for snap in skipped]).update(risk_skip_once=False)
    for snap in skipped:
        events.record(
            events.Category.RISK,
            f"group #{snap.group_id} left out of this risk cycle (skip once)",
            symbol=snap.symbol,
            group_id=snap.group_id,
            now=now,
        )
    _log_evaluation(ctx, plan, trigger)
    if plan.action == "none" or plan.loser is None:
        _set_state(state, RiskEngineState.Status.IDLE, plan.reason)
        return None
    action = execute(ctx, plan, force)
    # The book changed: the report shows what the next cycle would do, not what this one just did.
    snaps = snapshots(ctx, live_groups())
    state.report = report_json(plan_risk_action(snaps, settings_from(ctx.cfg), now), snaps, now)
    state.last_action_at = now
    _set_state(state, RiskEngineState.Status.ACTIVE, f"risk action #{action.pk}: {action.outcome}")
    return action


def block(ctx: EngineContext, reason: str) -> None:
    ctx.last_risk_at, ctx.fills_since_risk = ctx.now(), 0
    state = risk_state()
    state.last_evaluated_at = ctx.now()
    _set_state(state, RiskEngineState.Status.BLOCKED, reason)


def _set_state(state: RiskEngineState, status: str, reason: str) -> None:
    state.status, state.reason = status, reason[:300]
    state.save()


def _log_evaluation(ctx: EngineContext, plan: RiskPlan, trigger: str) -> None:
    candidates = [e for e in plan.evaluations if e.eligible]
    if not candidates and plan.action == "none":
        return  # nothing to report: no candidate found
    events.record(
        events.Category.RISK,
        f"risk cycle ({trigger}): {len(candidates)} eligible loser(s); plan {plan.action}: {plan.reason}",
        group_id=plan.loser.group_id if plan.loser else None,
        context={
            "required_usd": plan.required_usd,
            "covered_usd": plan.covered_usd,
            "winners": len(plan.winners),
        },
        now=ctx.now(),
    )


def _execute_close(ctx: EngineContext, close: PlannedClose, role: str) -> dict:
    group = PositionGroup.objects.get(pk=close.group_id)
    before = set(Order.objects.filter(group=group, purpose=Purpose.RISK.value).values_list("pk", flat=True))
    if close.full_close:
        positions.close_group(ctx, group, f"risk engine ({role})", Purpose.RISK)
    else:
        rules = positions.rules_for(group.account_id, group.symbol)
        positions.close_legs(ctx, group, dict(close.leg_qtys), Purpose.RISK, rules)
    order = Order.objects.filter(group=group, purpose=Purpose.RISK.value).exclude(pk__in=before).first()
    sent = order is not None and order.state not in ("rejected", "blocked")
    return {
        "group_id": group.pk,
        "role": role,
        "fraction": str(close.fraction),
        "full_close": close.full_close,
        "qty": str(close.qty),
        "planned_usd": str(close.usd),
        "order": order.client_order_id if order else "",
        "sent": sent,
        "error": (order.error if order else "no order was sent")[:200],
    }


def execute(ctx: EngineContext, plan: RiskPlan, forced: bool) -> RiskAction:
    """Send every close of the plan; record what did and did not execute — never silently."""
    assert plan.loser is not None
    closes = [_execute_close(ctx, plan.loser, "loser")]
    if closes[0]["sent"]:
        closes += [_execute_close(ctx, winner, "winner") for winner in plan.winners]
    else:
        # Without the loser's close there is nothing to offset: realising the winners would only
        # change their positions. Report every winner as not executed and try again next cycle.
        closes += [
            {
                "group_id": w.group_id,
                "role": "winner",
                "fraction": str(w.fraction),
                "full_close": w.full_close,
                "qty": str(w.qty),
                "planned_usd": str(w.usd),
                "order": "",
                "sent": False,
                "error": "not sent: the loser's close failed",
            }
            for w in plan.winners
        ]
    sent = [c for c in closes if c["sent"]]
    outcome = (
        RiskAction.Outcome.EXECUTED
        if len(sent) == len(closes)
        else RiskAction.Outcome.FAILED
        if not sent
        else RiskAction.Outcome.PARTIAL
    )
    action = RiskAction.objects.create(
        created_at=ctx.now(),
        loser_group_id=plan.loser.group_id,
        action=plan.action,
        outcome=outcome,
        required_usd=plan.required_usd,
        covered_usd=plan.covered_usd,
        net_usd=plan.net_usd,
        forced=forced,
        closes=closes,
        reason=plan.reason[:300],
    )
    failed = [c for c in closes if not c["sent"]]
    events.record(
        events.Category.RISK,
        f"risk action #{action.pk} {outcome}: loser #{plan.loser.group_id} ({fmt(plan.loser.usd, 2)} USD) offset by "
        + ", ".join(f"#{w.group_id} ({fmt(w.usd, 2)} USD)" for w in plan.winners)
        + (f"; not executed: {', '.join('#' + str(c['group_id']) for c in failed)}" if failed else ""),
        severity=events.Severity.INFO if not failed else events.Severity.ERROR,
        group_id=plan.loser.group_id,
        context={"closes": closes},
        now=ctx.now(),
    )
    return action


def realised_usd(action: RiskAction) -> dict[str, Decimal]:
    """Realised USD per side of an action, from the trades its orders produced."""
    ids = [c["order"] for c in action.closes if c.get("order")]
    by_order = {
        t.order.client_order_id: t.realized_pnl for t in Trade.objects.filter(order__client_order_id__in=ids)
    }
    loser = sum(
        (by_order.get(c["order"], Decimal(0)) for c in action.closes if c["role"] == "loser"), Decimal(0)
    )
    winners = sum(
        (by_order.get(c["order"], Decimal(0)) for c in action.closes if c["role"] == "winner"), Decimal(0)
    )
    return {"loser": loser, "winners": winners, "net": loser + winners}


def due(last: datetime | None, now: datetime, interval_sec: int) -> bool:
    return last is None or (now - last).total_seconds() >= interval_sec
