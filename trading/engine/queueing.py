"""The waiting queue: enqueue (replace, evict), expire, and promote into the pool."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from exchanges.models import ExchangeAccount

from .. import events
from ..compiled import CompiledSelect, CompiledUpdate, save_fields
from ..config_schema import dca_levels
from ..core.queue import RankedEntry, expected_profit, is_expired, select_evictee
from ..core.routing import LiveGroup, PoolState, QueueReason
from ..core.sizing import PyramidSize, size_in_quote
from ..core.types import Side
from ..models import GroupStatus, PositionGroup, QueueEntry, Signal, SignalStatus
from ..models.groups import OPEN_STATUSES
from ..reads.queue import rank
from . import prices
from .context import POOL, EngineContext


def pool_state(ctx: EngineContext) -> PoolState:
    """Open groups against the pool size (counted once per batch of signals, again after a group
    opens or closes)."""
    # A lambda: the queryset is built only when the batch has not counted yet.
    used = ctx.cached(POOL, lambda: PositionGroup.objects.filter(status__in=OPEN_STATUSES).count())
    return PoolState(used=used, max_open=ctx.cfg.execution_pool.max_open_groups)


QUEUE_EMPTY = "queue-empty"  # `cached` key: the waiting queue had no entry (forgotten when one joins)


def queue_empty(ctx: EngineContext) -> bool:
    """Whether no entry waits in the queue (read once per batch of signals; `enqueue` forgets it)."""
    return ctx.cached(QUEUE_EMPTY, lambda: not QueueEntry.objects.exists())


# Asked for nearly every signal: compiled once (see `compiled`), not built and compiled each time.
_LIVE_GROUP = CompiledSelect(
    lambda account_id, symbol, timeframe: PositionGroup.objects.filter(
        account_id=account_id, symbol=symbol, timeframe=timeframe, status__in=OPEN_STATUSES
    ),
    -1,
    "(symbol)",
    "(timeframe)",
)
_QUEUED_ENTRY = CompiledSelect(
    lambda account_id, symbol, timeframe: QueueEntry.objects.filter(
        account_id=account_id, symbol=symbol, timeframe=timeframe
    ),
    -1,
    "(symbol)",
    "(timeframe)",
)


def live_group(account_id: int, symbol: str, timeframe: str) -> PositionGroup | None:
    return _LIVE_GROUP.first(account_id, symbol, timeframe)


def queued_entry(account_id: int, symbol: str, timeframe: str) -> QueueEntry | None:
    """The market's entry waiting in the queue (at most one per account, symbol and timeframe)."""
    return _QUEUED_ENTRY.first(account_id, symbol, timeframe)


def as_live(group: PositionGroup | None) -> LiveGroup | None:
    if group is None:
        return None
    return LiveGroup(
        group_id=group.pk,
        side=Side(group.side),
        pyramid_count=group.pyramid_count,
        closing=group.status == GroupStatus.CLOSING,
    )


def live_prices(ctx: EngineContext, entries: list[QueueEntry]) -> dict[str, Decimal]:
    """Live price per symbol of the queued entries (unpriced entries rank after priced ones)."""
    fetched = prices.fetch(ctx, ((e.account_id, e.symbol) for e in entries))
    return {symbol: price for (_, symbol), price in fetched.items()}


def ranked(ctx: EngineContext, entries: list[QueueEntry] | None = None) -> list[RankedEntry]:
    """The queue best first, ranked by the same code the console and API read it with."""
    entries = list(QueueEntry.objects.all()) if entries is None else entries
    return rank(entries, live_prices(ctx, entries), ctx.cfg.waiting_rule.selection_priority)


def enqueue(
    ctx: EngineContext,
    signal: Signal,
    account: ExchangeAccount,
    side: Side,
    size: PyramidSize,
    reason: QueueReason,
) -> tuple[QueueEntry | None, str]:
    """Queue an entry (replacing one for the same market); returns the entry and the signal's reason."""
    cfg = ctx.cfg.waiting_rule
    now = ctx.now()
    profit = expected_profit(dca_levels(ctx.cfg), size_in_quote(size, signal.entry_price))
    existing = queued_entry(account.pk, signal.symbol, signal.timeframe)
    if existing is not None:
        if not cfg.queue_replace_same_symbol:
            return None, f"ignored: already queued as entry #{existing.pk} (replacement is off)"
        previous_signal_id = existing.signal_id
        with transaction.atomic(savepoint=False):  # part of the signal's write when there is one
            existing.signal = signal
            existing.side = side.value
            existing.entry_price = signal.entry_price
            existing.size_amount, existing.size_unit = size.amount, size.unit
            existing.expected_profit = profit
            existing.replacement_count += 1
            existing.reason = reason.value
            existing.updated_at = now
            save_fields(existing, _REPLACED)
            _SIGNAL_OUTCOME.run(
                previous_signal_id,
                status=SignalStatus.IGNORED,
                reason=f"replaced in the queue by signal #{signal.pk}",
            )
        return existing, f"queued: replaced queued entry ({existing.replacement_count} replacements)"
    ctx.forget(QUEUE_EMPTY)
    entry = QueueEntry.objects.create(
        signal=signal,
        account=account,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        side=side.value,
        entry_price=signal.entry_price,
        size_amount=size.amount,
        size_unit=size.unit,
        expected_profit=profit,
        reason=reason.value,
        queued_at=now,
        updated_at=now,
    )
    if QueueEntry.objects.count() > cfg.queue_limit:
        evictee = select_evictee(ranked(ctx))
        if evictee is not None:
            evicted = QueueEntry.objects.select_related("signal").get(pk=evictee.entry_id)
            _drop(ctx, evicted, f"evicted: queue limit {cfg.queue_limit} reached and it ranked last")
            if evictee.entry_id == entry.pk:  # compared by id: _drop's delete() cleared evicted.pk
                return None, f"rejected: queue full ({cfg.queue_limit}) and this entry ranked last"
    return entry, ""


# The replaced entry's signal gets its final outcome (compiled: see `compiled`).
_SIGNAL_OUTCOME = CompiledUpdate(Signal, ("status", "reason"))

# What replacing a queued entry changes.
_REPLACED = (
    "signal",
    "side",
    "entry_price",
    "size_amount",
    "size_unit",
    "expected_profit",
    "replacement_count",
    "reason",
    "updated_at",
)


def _drop(ctx: EngineContext, entry: QueueEntry, reason: str) -> None:
    with transaction.atomic(savepoint=False):  # part of the caller's write when there is one
        # Only a signal already settled as queued: a newcomer evicted on arrival is settled by intake.
        Signal.objects.filter(pk=entry.signal_id, status=SignalStatus.QUEUED).update(
            status=SignalStatus.IGNORED, reason=reason
        )
        entry.delete()
    events.record(
        events.Category.SIGNAL,
        f"queued {entry.symbol} {entry.timeframe} {entry.side} {reason}",
        severity=events.Severity.WARNING,
        symbol=entry.symbol,
        timeframe=entry.timeframe,
        signal_id=entry.signal_id,
        now=ctx.now(),
    )


def expire(ctx: EngineContext) -> int:
    """Drop entries older than max_queue_age_minutes (counted from their latest price)."""
    max_age = ctx.cfg.waiting_rule.max_queue_age_minutes
    if not max_age:
        return 0
    now = ctx.now()
    expired = [e for e in QueueEntry.objects.all() if is_expired(e.updated_at, now, max_age)]
    for entry in expired:
        _drop(ctx, entry, f"expired after {max_age} min in the queue")
    return len(expired)


def remove(ctx: EngineContext, entry: QueueEntry, reason: str) -> None:
    _drop(ctx, entry, reason)
