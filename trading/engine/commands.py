"""Operator commands from the web and API, applied by the engine in id order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount, Venue
from risk.engine import cycle as risk_cycle

from .. import events
from ..core.clientid import Purpose
from ..models import Command, CommandStatus, EngineState, PositionGroup, QueueEntry
from . import markets, positions, promotion, queueing, takeprofit
from . import orders as order_sync
from .context import EngineContext
from .fencing import LeaseLost
from .intake import AlreadyApplied

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    pass


def _group(args: dict) -> PositionGroup:
    group = PositionGroup.objects.filter(pk=args.get("group_id")).first()
    if group is None or not group.is_open:
        raise CommandFailed(f"group #{args.get('group_id')} is not open")
    return group


def _entry(args: dict) -> QueueEntry:
    entry = QueueEntry.objects.select_related("signal", "account").filter(pk=args.get("entry_id")).first()
    if entry is None:
        raise CommandFailed(f"queue entry #{args.get('entry_id')} no longer exists")
    return entry


def close_group(ctx: EngineContext, args: dict) -> str:
    group = _group(args)
    positions.close_group(ctx, group, "closed by operator", Purpose.MANUAL)
    return f"closing group #{group.pk}"


# Promoting or removing deletes the entry, which clears entry.pk: messages use the id read first.


def queue_promote(ctx: EngineContext, args: dict) -> str:
    entry = _entry(args)
    entry_id = entry.pk
    entry.promoted_at = ctx.now()
    entry.save(update_fields=["promoted_at"])
    if promotion.try_promote(ctx, entry, force=False):
        return f"queue entry #{entry_id} promoted into the pool"
    if entry.pk is None:
        return f"queue entry #{entry_id} dropped: {entry.signal.reason}"
    return f"queue entry #{entry_id} moved to the head of the queue ({promotion.blocked_reason(ctx, entry, False)})"


def queue_remove(ctx: EngineContext, args: dict) -> str:
    entry = _entry(args)
    entry_id = entry.pk
    queueing.remove(ctx, entry, "removed by operator")
    return f"queue entry #{entry_id} removed"


def queue_force(ctx: EngineContext, args: dict) -> str:
    entry = _entry(args)
    entry_id = entry.pk
    reason = promotion.blocked_reason(ctx, entry, force=True)
    if reason is not None:
        raise CommandFailed(f"cannot force entry #{entry_id}: {reason}")
    if not promotion.try_promote(ctx, entry, force=True):
        raise CommandFailed(f"entry #{entry_id} not opened: {entry.signal.reason}")
    return f"queue entry #{entry_id} forced into the pool"


def paper_price(ctx: EngineContext, args: dict) -> str:
    account = ExchangeAccount.objects.filter(label=args.get("account") or "paper", venue=Venue.PAPER).first()
    if account is None:
        raise CommandFailed("no paper account")
    try:
        price = Decimal(str(args["price"]))
    except (KeyError, InvalidOperation) as exc:
        raise CommandFailed("price must be a decimal number") from exc
    adapter = ctx.adapter(account)
    symbol = adapter.load_markets().resolve(str(args.get("symbol", "")))
    if symbol is None:
        raise CommandFailed(f"unknown symbol {args.get('symbol')}")
    try:
        adapter.set_price(symbol, price)  # type: ignore[attr-defined] - paper-only feed entry point
    except ExchangeError as exc:
        raise CommandFailed(str(exc)) from exc
    # The price drives fills and take-profit at once, not at the next poll.
    order_sync.sync_live_orders(ctx, symbol)
    takeprofit.sweep(ctx, {symbol})
    return f"paper price {symbol} = {price}"


def pause(ctx: EngineContext, args: dict) -> str:
    EngineState.objects.filter(pk=1).update(paused=True, status=EngineState.Status.PAUSED)
    return "engine paused: new signals (entries and exits) wait in the inbox; fills, take-profit and operator commands go on"


def resume(ctx: EngineContext, args: dict) -> str:
    EngineState.objects.filter(pk=1).update(paused=False, status=EngineState.Status.RUNNING)
    return "engine resumed"


def refresh_markets(ctx: EngineContext, args: dict) -> str:
    count = markets.refresh_all(ctx, force=True)
    return f"market rules refreshed for {count} account(s)"


def clear_account_block(ctx: EngineContext, args: dict) -> str:
    updated = ExchangeAccount.objects.filter(label=args.get("account")).update(entries_blocked_reason="")
    if not updated:
        raise CommandFailed(f"no account {args.get('account')}")
    return f"entries re-enabled on {args.get('account')}"


def risk_run(ctx: EngineContext, args: dict) -> str:
    """Run Now: one cycle immediately, ignoring the interval but not the rules (force: also the timer)."""
    force = bool(args.get("force"))
    action = risk_cycle.run_cycle(ctx, force=force, trigger="run now" + (" (forced)" if force else ""))
    if action is None:
        return f"risk cycle ran: no action ({risk_cycle.risk_state().reason})"
    return f"risk cycle ran: action #{action.pk} {action.outcome}"


def _risk_flag(args: dict, **flags: bool) -> PositionGroup:
    group = _group(args)
    PositionGroup.objects.filter(pk=group.pk).update(**flags)
    return group


def risk_skip(ctx: EngineContext, args: dict) -> str:
    group = _risk_flag(args, risk_skip_once=True)
    return f"group #{group.pk} skipped by the risk engine for one cycle"


def risk_block(ctx: EngineContext, args: dict) -> str:
    group = _risk_flag(args, risk_blocked=True)
    return f"group #{group.pk} exempt from the risk engine"


def risk_unblock(ctx: EngineContext, args: dict) -> str:
    group = _risk_flag(args, risk_blocked=False)
    return f"group #{group.pk} back under the risk engine"


HANDLERS: dict[str, Callable[[EngineContext, dict], str]] = {
    "risk_run": risk_run,
    "risk_skip": risk_skip,
    "risk_block": risk_block,
    "risk_unblock": risk_unblock,
    "close_group": close_group,
    "queue_promote": queue_promote,
    "queue_remove": queue_remove,
    "queue_force": queue_force,
    "paper_price": paper_price,
    "pause": pause,
    "resume": resume,
    "refresh_markets": refresh_markets,
    "clear_account_block": clear_account_block,
}


def apply_pending(ctx: EngineContext, limit: int = 100) -> int:
    pending = list(Command.objects.filter(status=CommandStatus.PENDING).order_by("id")[:limit])
    for command in pending:
        try:
            apply_command(ctx, command)
        except AlreadyApplied:
            continue
    return len(pending)


def _run(
    ctx: EngineContext, command: Command, handler: Callable[[EngineContext, dict], str] | None
) -> tuple[str, str]:
    try:
        if handler is None:
            raise CommandFailed(f"unknown command {command.kind}")
        return CommandStatus.APPLIED, handler(ctx, command.args or {})
    except CommandFailed as exc:
        return CommandStatus.FAILED, str(exc)


def recover_interrupted(ctx: EngineContext) -> int:
    """At start: commands a crash interrupted while they ran outside a transaction are reported,
    not re-run (a market download or a risk cycle the operator can simply ask for again)."""
    return Command.objects.filter(status=CommandStatus.RUNNING).update(
        status=CommandStatus.FAILED,
        result="interrupted by an engine restart; not re-run (ask again if still wanted)",
        applied_at=ctx.now(),
    )


def _claim(ctx: EngineContext, command: Command) -> None:
    with ctx.write():
        if not Command.objects.filter(pk=command.pk, status=CommandStatus.PENDING).update(
            status=CommandStatus.RUNNING
        ):
            raise AlreadyApplied(f"command #{command.pk} is no longer pending")


def _settle(
    ctx: EngineContext, command: Command, status: str, result: str, expect: str | None = CommandStatus.PENDING
) -> None:
    """Record the outcome; the command must still be `expect` (None: pending or running)."""
    command.status, command.result, command.applied_at = status, result[:500], ctx.now()
    rows = Command.objects.filter(pk=command.pk)
    rows = (
        rows.filter(status=expect)
        if expect
        else rows.filter(status__in=[CommandStatus.PENDING, CommandStatus.RUNNING])
    )
    if not rows.update(status=status, result=command.result, applied_at=command.applied_at):
        raise AlreadyApplied(f"command #{command.pk} was already settled")


# Commands that talk to an exchange at length (market downloads, a whole risk cycle) run outside a
# transaction, so they are claimed first: after a crash they are reported as interrupted, never
# re-run behind the operator's back (at most once). Every other command commits its effects
# together with its "applied" status (exactly once).
CLAIMED_FIRST = {"refresh_markets", "risk_run"}


def apply_command(ctx: EngineContext, command: Command) -> None:
    """Apply one command; raises only LeaseLost and AlreadyApplied (someone else settled it)."""
    handler = HANDLERS.get(command.kind)
    try:
        if command.kind in CLAIMED_FIRST:
            _claim(ctx, command)
            status, result = _run(ctx, command, handler)
            with ctx.write():
                _settle(ctx, command, status, result, expect=CommandStatus.RUNNING)
        else:
            with ctx.write():
                # A CommandFailed keeps what the handler did before it (it decided so); an
                # unexpected error rolls all of it back.
                status, result = _run(ctx, command, handler)
                _settle(ctx, command, status, result)
    except (LeaseLost, AlreadyApplied):
        raise
    except Exception as exc:  # noqa: BLE001 - a broken command must not stop the loop
        log.exception("command %s failed", command.pk)
        status, result = CommandStatus.FAILED, f"engine error {type(exc).__name__}: {exc}"
        with ctx.write():
            _settle(ctx, command, status, result, expect=None)
    if command.kind != "paper_price" or status == CommandStatus.FAILED:
        events.record(
            events.Category.ENGINE,
            f"command #{command.pk} {command.kind}: {result}",
            severity=events.Severity.INFO if status == CommandStatus.APPLIED else events.Severity.WARNING,
            now=ctx.now(),
        )
