"""Moving queued entries into the pool: the best first, the moment a slot or the rules allow."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef

from exchanges.models import ExchangeAccount

from .. import events
from ..core.sizing import PyramidSize
from ..core.types import Side
from ..models import GroupStatus, PositionGroup, QueueEntry, SignalStatus
from ..models.groups import OPEN_STATUSES
from . import admission, crashpoints, queueing
from .context import EngineContext
from .intake import AlreadyApplied, finish, open_or_pyramid
from .signal_market import resolve_market, unknown_symbol_reason

QUEUED = {"expect": SignalStatus.QUEUED}  # a promoted signal must still be waiting in the queue


def promote_ready(ctx: EngineContext) -> int:
    """Walk the ranked queue and promote every entry that can go now."""
    if not QueueEntry.objects.exists():
        return 0
    promoted = 0
    slot_free = queueing.pool_state(ctx).has_free_slot
    if not slot_free and not _continuations_waiting():
        return 0  # a full pool and nothing queued that would be a pyramid: no need to rank the queue
    for ranked in queueing.ranked(ctx):
        if not ranked.entry.continuation and not slot_free:
            continue  # a new group needs a slot (a full pool is the common case under a backlog)
        entry = (
            QueueEntry.objects.select_related("signal", "account").filter(pk=ranked.entry.entry_id).first()
        )
        if entry is not None and try_promote(ctx, entry, force=False):
            promoted += 1
            slot_free = queueing.pool_state(ctx).has_free_slot
    return promoted


def _continuations_waiting() -> bool:
    """Whether a queued entry continues a live group on its side (it needs no slot: a pyramid);
    the same test as the ranking's `continuation`, in one query."""
    live = PositionGroup.objects.filter(
        account_id=OuterRef("account_id"),
        symbol=OuterRef("symbol"),
        timeframe=OuterRef("timeframe"),
        side=OuterRef("side"),
        status__in=OPEN_STATUSES,
    ).exclude(status=GroupStatus.CLOSING)
    return QueueEntry.objects.filter(Exists(live)).exists()


def waiting_for_slot(ctx: EngineContext) -> int:
    """Queued entries that would take a free pool slot right now: a new group on a market with no
    open group, on an account whose entries run and whose rules are fresh (`blocked_reason` reads
    the same rules one entry at a time)."""
    if queueing.queue_empty(ctx):
        return 0
    market_open = PositionGroup.objects.filter(
        account_id=OuterRef("account_id"),
        symbol=OuterRef("symbol"),
        timeframe=OuterRef("timeframe"),
        status__in=OPEN_STATUSES,
    )
    fresh_since = ctx.now() - timedelta(seconds=ctx.cfg.exchange.precision_stale_after_sec)
    return (
        QueueEntry.objects.filter(
            account__entries_blocked_reason="", account__markets_synced_at__gte=fresh_since
        )
        .exclude(Exists(market_open))
        .count()
    )


def blocked_reason(ctx: EngineContext, entry: QueueEntry, force: bool) -> str | None:
    """Why this entry cannot be promoted right now, or None if it can."""
    account: ExchangeAccount = entry.account
    if account.entries_blocked_reason:
        return f"entries stopped on {account.label}"
    mode = admission.paper_mode_problem(ctx, account)
    if mode:
        return mode
    _, fresh = resolve_market(ctx, account, entry.signal)
    if not fresh:
        return "precision rules missing or stale"
    group = queueing.live_group(account.pk, entry.symbol, entry.timeframe)
    if group is not None and group.status == GroupStatus.CLOSING:
        return f"group #{group.pk} still closing"
    if group is not None and group.side != entry.side:
        return f"{group.side} group #{group.pk} still live"
    if group is None and not force and not queueing.pool_state(ctx).has_free_slot:
        return "pool full"
    return None


def try_promote(ctx: EngineContext, entry: QueueEntry, force: bool, how: str = "") -> bool:
    """Open (or pyramid) a queued entry. `force` bypasses the pool limit (operator's Force Add).

    Taking the entry out of the queue, opening the group and the signal's new outcome are one
    transaction: a crash in between neither loses the entry nor leaves the signal "queued".
    """
    if blocked_reason(ctx, entry, force) is not None:
        return False
    try:
        # Lazy: its orders leave after a durable commit of their own (`fencing.LAZY_COMMIT`).
        with ctx.write(lazy=True), events.batched():
            return _promote(ctx, entry, force, how)
    except AlreadyApplied:
        return False


def _promote(ctx: EngineContext, entry: QueueEntry, force: bool, how: str) -> bool:
    signal = entry.signal
    signal.symbol = entry.symbol
    group = queueing.live_group(entry.account_id, entry.symbol, entry.timeframe)
    size = PyramidSize(entry.size_amount, entry.size_unit)  # type: ignore[arg-type]
    max_p = ctx.cfg.grid_strategy.max_pyramids_per_group
    entry.delete()
    symbol, fresh = resolve_market(ctx, entry.account, signal)
    if symbol is None and fresh:
        # Held while the rules were stale; the refreshed rules know no such market.
        finish(
            ctx, signal, SignalStatus.REJECTED, unknown_symbol_reason(signal, entry.account), None, **QUEUED
        )
        return False
    if group is not None and group.pyramid_count >= max_p:
        finish(
            ctx,
            signal,
            "ignored",
            f"ignored: {group.pyramid_count}/{max_p} pyramids on group #{group.pk}",
            group,
            **QUEUED,
        )
        return False
    status, reason, group = open_or_pyramid(ctx, signal, entry.account, Side(entry.side), size, group)
    if status != SignalStatus.APPLIED:
        finish(ctx, signal, status, f"taken from the queue: {reason}", group, **QUEUED)
        return False
    crashpoints.reached("promotion_applied")
    how = how or ("forced into the pool" if force else "promoted from the queue")
    finish(ctx, signal, status, f"{how}: {reason}", group, **QUEUED)
    return True
