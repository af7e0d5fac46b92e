"""The per-account order queue: send waiting orders within the venue's rate limits, closes first.

A pyramid's 7-leg ladder, or ten groups entering at once, is a burst of dozens of orders, and
bursts are what get accounts banned. Orders are created QUEUED and leave here in priority order:
exits, take-profits and risk closes ahead of new entries and DCA legs.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount

from ..core.clientid import Purpose
from ..models import Order, OrderState
from . import orders
from .context import EngineContext

# Lower goes first.
PRIORITY = {
    Purpose.EXIT.value: 0,
    Purpose.RISK.value: 0,
    Purpose.MANUAL.value: 0,
    Purpose.REVERSE.value: 0,
    Purpose.TP_GROUP.value: 1,
    Purpose.TP_LEG.value: 1,
    Purpose.REDUCE.value: 1,
    Purpose.ENTRY.value: 2,
    Purpose.DCA.value: 3,
}


# What leaves at once when a decision commits: closes and each entry's first (marketable) order.
# Resting DCA legs follow at the end of the tick, so a burst of signals gets every DCA0 out first.
URGENT = PRIORITY[Purpose.ENTRY.value]


def _queued(account_id: int, urgent_only: bool = False):
    rank = Case(
        *[When(purpose=purpose, then=Value(level)) for purpose, level in PRIORITY.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    queued = (
        Order.objects.filter(account_id=account_id, state=OrderState.QUEUED)
        .annotate(rank=rank)
        .order_by("rank", "id")
    )
    return queued.filter(rank__lte=URGENT) if urgent_only else queued


ENTRIES = {Purpose.ENTRY.value, Purpose.DCA.value}


def _entries_stopped(account_id: int) -> bool:
    """An auth or funds failure stops new entries; closes still leave."""
    return ExchangeAccount.objects.filter(pk=account_id).exclude(entries_blocked_reason="").exists()


def _paused(ctx: EngineContext, account_id: int) -> bool:
    until = ctx.paused_until.get(account_id)
    return until is not None and until > ctx.now()


def dispatch(ctx: EngineContext, account_ids: set[int] | None = None, *, urgent_only: bool = False) -> int:
    """Send what the limits allow now; the rest waits for the next tick. Returns orders sent.

    Inside an engine transaction nothing is sent: the accounts are noted and their queues leave
    right after the commit (`EngineContext.write`), so no request ever goes out for a row that a
    crash could still roll back.
    """
    accounts = ExchangeAccount.objects.filter(orders__state=OrderState.QUEUED).distinct()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    if ctx.in_write:
        for account_id in account_ids if account_ids is not None else accounts.values_list("pk", flat=True):
            ctx.defer_dispatch(account_id)
        return 0
    sent = 0
    for account in accounts:
        if _paused(ctx, account.pk):
            continue
        try:
            limiter = ctx.limiter(account)
        except ExchangeError as exc:
            ctx.note_error(account.pk, exc)
            continue
        stopped = bool(account.entries_blocked_reason)
        for order in _queued(account.pk, urgent_only):
            if order.purpose in ENTRIES and stopped:
                orders.drop_unsent(ctx, order, "entries stopped on this account")
                continue
            if limiter is not None and not limiter.try_acquire():
                break
            orders.submit(ctx, order, account)
            sent += 1
            if order.state == OrderState.REJECTED:
                stopped = _entries_stopped(account.pk)  # an auth or funds failure stops the rest
            if _paused(ctx, account.pk):
                break  # a 429/418 on this send: the rest waits out the venue's Retry-After
        if limiter is not None:
            ExchangeAccount.objects.filter(pk=account.pk).update(
                rate_limit_headroom=round(limiter.headroom, 2)
            )
    return sent
