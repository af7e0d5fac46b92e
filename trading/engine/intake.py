"""Applying inbox signals in arrival order. Every signal ends with an outcome and a readable reason."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from exchanges.models import ExchangeAccount
from risk.engine import cycle as risk_cycle

from .. import events
from ..compiled import CompiledUpdate
from ..core.clientid import Purpose
from ..core.ladder import dca0_guard_price
from ..core.routing import EntryDecision, QueueReason, Route, full_group_reason, route_entry, state_drift
from ..core.sizing import PyramidSize, pyramid_size
from ..core.types import Intent, Side, SizeType
from ..core.webhook_payload import risk_levels
from ..models import PositionGroup, QueueEntry, Signal, SignalStatus
from . import admission, crashpoints, positions, price_history, queueing
from .context import EngineContext
from .fencing import LeaseLost
from .signal_market import (
    ask_prices_once,
    exit_account,
    hint_price,
    resolve_market,
    signal_account,
    unknown_symbol_reason,
)

log = logging.getLogger(__name__)


CLOSING_INTENTS = {Intent.EXIT.value, Intent.REDUCE.value, Intent.REVERSE.value}
BATCH = 20  # signals per tick: a backlog still leaves room for fills and take-profit every tick


def apply_pending(ctx: EngineContext, limit: int = BATCH, stop: Callable[[], bool] = lambda: False) -> int:
    """Apply up to `limit` inbox signals in arrival order; `stop()` ends the batch between signals."""
    pending = list(Signal.objects.filter(status=SignalStatus.RECEIVED).order_by("id")[:limit])
    applied = 0
    # Accounts and the pool count are read once for the whole batch, and its orders leave together
    # once every waiting signal is decided (closes and DCA0s first, the resting legs after).
    with ctx.batch_cache(), ctx.hold_orders():
        ask_prices_once(ctx, pending)
        for signal in pending:
            if stop():
                break
            apply_signal(ctx, signal)
            applied += 1
    price_history.record_held(ctx)  # the chart's samples, after the batch's orders have left
    return applied


def signals_waiting() -> bool:
    return Signal.objects.filter(status=SignalStatus.RECEIVED).exists()


class AlreadyApplied(Exception):
    """The signal left the state this step expected (another pass applied it): change nothing."""


def apply_signal(ctx: EngineContext, signal: Signal) -> None:
    """Apply one signal exactly once. Raises only LeaseLost: a signal that breaks the engine is
    rejected with the error and the loop goes on.

    Claiming the signal, every row it creates (group, pyramid, legs, QUEUED orders, queue entry)
    and its outcome commit in one transaction; its orders are sent after the commit. A crash before
    the commit leaves no trace, so the signal is applied afresh on restart; a crash after it finds
    the signal processed and its orders waiting in the queue with their client ids.
    """
    try:
        # Lazy: its orders leave after a durable commit of their own (`fencing.LAZY_COMMIT`).
        with ctx.write(lazy=True), events.batched():
            status, reason, group = _apply(ctx, signal)
            crashpoints.reached("signal_applied")
            finish(ctx, signal, status, reason, group)
        crashpoints.reached("signal_committed")
        if signal.intent in CLOSING_INTENTS and status != SignalStatus.REJECTED:
            # A close leaves at once, not with the batch: its fill frees the group's slot for the
            # next signal, and a reversed group must be closed before its new side can open.
            ctx.release_orders()
        if signal.intent == Intent.REVERSE.value and status == SignalStatus.QUEUED:
            _open_reversal(ctx, signal)
        if status == SignalStatus.QUEUED:
            _offer_free_slots(ctx)
    except LeaseLost:
        raise  # not this signal's fault: the engine stops trading, the signal waits for the next one
    except AlreadyApplied:
        return
    except Exception as exc:  # noqa: BLE001 - one bad signal must not stop trading
        log.exception("signal %s failed", signal.pk)
        reason = f"rejected: engine error {type(exc).__name__}: {exc}"
        with ctx.write():
            finish(ctx, signal, SignalStatus.REJECTED, reason, None)


def _open_reversal(ctx: EngineContext, signal: Signal) -> None:
    """The reversed group's close has gone out (after the commit): if it filled, the new side takes
    the freed slot now, ahead of the queue; otherwise it waits in the queue until the close fills."""
    from .promotion import try_promote  # promotion builds on intake

    entry = QueueEntry.objects.select_related("signal", "account").filter(signal=signal).first()
    if entry is not None:
        try_promote(ctx, entry, force=False, how="reversed")


def _offer_free_slots(ctx: EngineContext) -> None:
    """A signal joined the queue while a slot is free (one freed earlier in this tick): the ranked
    queue is promoted now, before the next signal is decided, so the best entry gets the slot."""
    from .promotion import promote_ready  # promotion builds on intake

    if queueing.pool_state(ctx).has_free_slot:
        promote_ready(ctx)


# A signal's outcome, written only while it is still in the status the caller expects.
_CLAIM_OUTCOME = CompiledUpdate(
    Signal, ("status", "reason", "group_id", "processed_at"), where=("pk", "status")
)


def finish(
    ctx: EngineContext,
    signal: Signal,
    status: str,
    reason: str,
    group: PositionGroup | None,
    *,
    expect: str = SignalStatus.RECEIVED,
) -> None:
    """Record the outcome, claiming the signal: it must still be in `expect` (else AlreadyApplied)."""
    signal.status = status
    signal.reason = reason[:300]
    signal.group = group
    signal.processed_at = ctx.now()
    claimed = _CLAIM_OUTCOME.run(
        signal.pk,
        str(expect),  # matched as a plain str: the compiled statement takes int and str values
        status=signal.status,
        reason=signal.reason,
        group_id=group.pk if group else None,
        processed_at=signal.processed_at,
    )
    if not claimed:
        raise AlreadyApplied(f"signal #{signal.pk} is no longer {expect}")
    severity = events.Severity.WARNING if status == SignalStatus.REJECTED else events.Severity.INFO
    events.record(
        events.Category.SIGNAL,
        f"signal #{signal.pk} {signal.intent} {signal.side} {signal.raw_symbol} {signal.timeframe}: {reason}",
        severity=severity,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        group_id=group.pk if group else None,
        signal_id=signal.pk,
        now=ctx.now(),
    )


def _apply(ctx: EngineContext, signal: Signal) -> tuple[str, str, PositionGroup | None]:
    account = signal_account(ctx, signal)
    if Intent(signal.intent) in (Intent.EXIT, Intent.REDUCE):
        account = exit_account(ctx, signal, account)
    if account is None:
        return SignalStatus.REJECTED, f"rejected: no enabled account for exchange '{signal.exchange}'", None
    symbol, fresh = resolve_market(ctx, account, signal)
    if symbol is None and fresh:
        return SignalStatus.REJECTED, unknown_symbol_reason(signal, account), None
    if symbol is not None:
        signal.symbol = symbol
    elif not signal.symbol:
        return SignalStatus.REJECTED, f"rejected: cannot read symbol {signal.raw_symbol}", None
    group = queueing.live_group(account.pk, signal.symbol, signal.timeframe)
    drift = state_drift(signal.prev_market_position or None, Side(group.side) if group else None)
    if drift:
        events.record(
            events.Category.SIGNAL,
            drift,
            severity=events.Severity.WARNING,
            symbol=signal.symbol,
            timeframe=signal.timeframe,
            group_id=group.pk if group else None,
            signal_id=signal.pk,
            now=ctx.now(),
        )
    intent = Intent(signal.intent)
    if intent in (Intent.EXIT, Intent.REDUCE):
        status, reason, group = (
            _exit(ctx, signal, account, group) if intent is Intent.EXIT else _reduce(ctx, signal, group)
        )
        if any(level is not None for level in risk_levels(signal.payload)):
            reason += "; risk.stop_loss/take_profit apply to entries only: ignored"
        return status, reason, group
    if intent is Intent.SIGNAL:
        ignored = _ignored_on_full_group(ctx, signal, group)
        if ignored:
            return SignalStatus.IGNORED, ignored, group
    refusal = _refusal(ctx, signal, account)
    if refusal:  # before a reverse closes anything: a refused reverse leaves the group as it is
        return SignalStatus.REJECTED, f"rejected: {refusal}", group
    if intent is Intent.REVERSE and group is not None:
        positions.close_group(ctx, group, f"reversed by signal #{signal.pk}", Purpose.REVERSE)
        group.refresh_from_db()
        group = group if group.is_open else None
    return _entry(ctx, signal, account, fresh, group)


def _ignored_on_full_group(ctx: EngineContext, signal: Signal, group: PositionGroup | None) -> str | None:
    """A further entry on a group with all its pyramids: decided from the group's row alone, before
    any price, balance or pool is read (the commonest outcome under a busy strategy)."""
    max_pyramids = ctx.cfg.grid_strategy.max_pyramids_per_group
    reason = full_group_reason(Side(signal.side), queueing.as_live(group), max_pyramids)
    if reason is not None and group is not None:
        risk_cycle.note_replacement(ctx, group)  # a further entry on a full group restarts its timer
    return reason


def _refusal(ctx: EngineContext, signal: Signal, account: ExchangeAccount) -> str | None:
    """Why this entry may not trade at all (a real-money account in paper mode, price far from the
    market, stop-loss already crossed, a short the account cannot make), decided before it is routed
    or queued."""
    mode = admission.paper_mode_problem(ctx, account)
    if mode:
        return mode
    side = Side(signal.side)
    # A paper market without a price takes the signal's (the batch's price request did this already).
    hint_price(ctx, account, signal.symbol, signal.entry_price)
    stop_loss, _ = risk_levels(signal.payload)
    return admission.price_problem(ctx, account, signal, side, stop_loss) or admission.short_problem(
        ctx, account, signal, side, _size_of(ctx, signal)
    )


def _size_of(ctx: EngineContext, signal: Signal) -> PyramidSize:
    return pyramid_size(
        signal.order_size, SizeType(signal.size_type), ctx.cfg.grid_strategy.default_pyramid_size_quote
    )


def _entry(
    ctx: EngineContext,
    signal: Signal,
    account: ExchangeAccount,
    fresh: bool,
    group: PositionGroup | None,
) -> tuple[str, str, PositionGroup | None]:
    """`group`: the market's open group, as `_apply` just read it."""
    if account.entries_blocked_reason:
        return (
            SignalStatus.REJECTED,
            f"rejected: entries stopped on {account.label}: {account.entries_blocked_reason}",
            None,
        )
    side = Side(signal.side)
    size = _size_of(ctx, signal)
    pool = queueing.pool_state(ctx)
    decision = route_entry(
        side,
        queueing.as_live(group),
        pool,
        ctx.cfg.grid_strategy.max_pyramids_per_group,
        rules_ready=fresh,
        # A slot freed in this tick is offered to the queue first: the newcomer joins the ranking.
        waiting_for_slot=_waiting_for_slot(ctx) if group is None and pool.has_free_slot else 0,
    )
    if decision.route is Route.OPEN_GROUP and _waits_in_queue(ctx, account, signal):
        # The market already waits in line: the newer signal replaces the queued one.
        decision = EntryDecision(Route.QUEUE, "queued", QueueReason.POOL_FULL)
    if decision.route is Route.IGNORE:
        if group is not None:
            risk_cycle.note_replacement(ctx, group)  # a further entry on a full group restarts its timer
        return SignalStatus.IGNORED, decision.reason, group
    if decision.route is Route.QUEUE:
        entry, reason = queueing.enqueue(ctx, signal, account, side, size, decision.queue_reason)
        if entry is None:
            status = SignalStatus.REJECTED if reason.startswith("rejected") else SignalStatus.IGNORED
            return status, reason, group
        return SignalStatus.QUEUED, reason or decision.reason, group
    return open_or_pyramid(ctx, signal, account, side, size, group, admitted=True)


def _waiting_for_slot(ctx: EngineContext) -> int:
    from .promotion import waiting_for_slot  # promotion builds on intake

    return waiting_for_slot(ctx)


def _waits_in_queue(ctx: EngineContext, account: ExchangeAccount, signal: Signal) -> bool:
    return not queueing.queue_empty(ctx) and (
        queueing.queued_entry(account.pk, signal.symbol, signal.timeframe) is not None
    )


def open_or_pyramid(
    ctx: EngineContext,
    signal: Signal,
    account: ExchangeAccount,
    side: Side,
    size: PyramidSize,
    group: PositionGroup | None,
    *,
    admitted: bool = False,
) -> tuple[str, str, PositionGroup | None]:
    """Open a group or add a pyramid. `admitted`: the price checks already ran for this signal
    (a promoted entry is checked again here: the market may have moved while it waited)."""
    stop_loss, take_profit = risk_levels(signal.payload)
    refusal = None if admitted else admission.price_problem(ctx, account, signal, side, stop_loss)
    if refusal:
        return SignalStatus.REJECTED, f"rejected: {refusal}", group
    rules = positions.rules_for(account.pk, signal.symbol, ctx)
    if rules is None:
        return SignalStatus.REJECTED, f"rejected: no precision rules for {signal.symbol}", group
    plan = positions.plan_pyramid(ctx, side, signal.entry_price, size, rules)
    if plan.error:
        return SignalStatus.REJECTED, f"rejected: {plan.error}", group
    dca0 = dca0_guard_price(side, plan.base_price, _slippage(ctx, signal), rules)
    refusal = admission.funds_problem_for(ctx, account, signal.symbol, side, plan, dca0)
    if refusal:
        return SignalStatus.REJECTED, f"rejected: {refusal}", group
    levels = positions.RiskLevels(stop_loss, take_profit)
    if group is None:
        group = positions.open_group(ctx, account, signal, side, plan, size, rules, levels)
        return SignalStatus.APPLIED, f"opened group #{group.pk}", group
    positions.add_pyramid(ctx, group, signal, plan, size, rules, levels)  # counts the pyramid on `group`
    max_p = ctx.cfg.grid_strategy.max_pyramids_per_group
    return SignalStatus.APPLIED, f"pyramid {group.pyramid_count}/{max_p} on group #{group.pk}", group


def _slippage(ctx: EngineContext, signal: Signal) -> Decimal:
    if signal.max_slippage_percent is None:
        return ctx.cfg.grid_strategy.max_slippage_percent
    return signal.max_slippage_percent


def _exit(
    ctx: EngineContext, signal: Signal, account: ExchangeAccount, group: PositionGroup | None
) -> tuple[str, str, PositionGroup | None]:
    queued = queueing.queued_entry(account.pk, signal.symbol, signal.timeframe)
    notes = []
    if queued is not None:
        entry_id = queued.pk  # delete() clears it
        queueing.remove(ctx, queued, f"removed by exit signal #{signal.pk}")
        notes.append(f"removed queued entry #{entry_id}")
    if group is not None:
        positions.close_group(ctx, group, f"exit signal #{signal.pk}")
        notes.insert(0, f"closed group #{group.pk}")
    if not notes:
        return (
            SignalStatus.IGNORED,
            f"ignored: nothing open or queued on {signal.symbol} {signal.timeframe}",
            None,
        )
    return SignalStatus.APPLIED, "; ".join(notes), group


def _reduce(
    ctx: EngineContext, signal: Signal, group: PositionGroup | None
) -> tuple[str, str, PositionGroup | None]:
    if group is None:
        return SignalStatus.IGNORED, f"ignored: nothing open on {signal.symbol} {signal.timeframe}", None
    if not signal.order_size:
        return SignalStatus.REJECTED, "rejected: reduce needs tv.order_size", group
    qty = signal.order_size
    if signal.size_type == SizeType.QUOTE.value:
        price = signal.entry_price or positions.last_price(ctx, group)
        if not price:
            return SignalStatus.REJECTED, "rejected: reduce in quote needs a price", group
        qty = signal.order_size / price
    sent = positions.reduce_group(ctx, group, qty)
    if sent <= 0:
        return SignalStatus.IGNORED, f"ignored: nothing to reduce on group #{group.pk}", group
    return SignalStatus.APPLIED, f"reduced group #{group.pk} by {sent.normalize()}", group
