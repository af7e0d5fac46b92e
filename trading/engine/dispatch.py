"""The per-account order queue: send waiting orders within the venue's rate limits, closes first.

A pyramid's 7-leg ladder, or ten groups entering at once, is a burst of dozens of orders, and
bursts are what get accounts banned. Orders are created QUEUED and leave here in priority order:
exits, take-profits and risk closes ahead of new entries and DCA legs.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, IntegerField, Value, When

from exchanges.core.adapter import ExchangeError, OrderReport
from exchanges.models import ExchangeAccount
from exchanges.ratelimit import OrderRateLimiter

from ..compiled import CompiledSelect
from ..core.clientid import Purpose
from ..models import Order, OrderState
from . import orders, sending
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


_RANK = Case(
    *[When(purpose=purpose, then=Value(level)) for purpose, level in PRIORITY.items()],
    default=Value(9),
    output_field=IntegerField(),
)


def _queue(account_id: int, urgent_only: bool = False):
    queued = (
        Order.objects.filter(account_id=account_id, state=OrderState.QUEUED)
        .annotate(rank=_RANK)
        .order_by("rank", "id")
    )
    return queued.filter(rank__lte=URGENT) if urgent_only else queued


# Read for every batch the engine sends (its CASE of ranks is costly to build): compiled once.
_QUEUED = {
    urgent_only: CompiledSelect(lambda account_id, u=urgent_only: _queue(account_id, u), -1)
    for urgent_only in (False, True)
}


def _queued(account_id: int, urgent_only: bool = False) -> list[Order]:
    """The account's QUEUED orders, best first (closes, then entries' first orders, then DCA legs)."""
    return _QUEUED[urgent_only].all(account_id)


ENTRIES = {Purpose.ENTRY.value, Purpose.DCA.value}


def _entries_stopped(account_id: int) -> bool:
    """An auth or funds failure stops new entries; closes still leave."""
    return ExchangeAccount.objects.filter(pk=account_id).exclude(entries_blocked_reason="").exists()


def _paused(ctx: EngineContext, account_id: int) -> bool:
    until = ctx.paused_until.get(account_id)
    return until is not None and until > ctx.now()


def _accounts(ctx: EngineContext, account_ids: set[int] | None) -> list[ExchangeAccount]:
    """Accounts with queued orders (among `account_ids`), as the batch's instances when cached."""
    if account_ids is not None and ctx.batching:
        # The batch holds these accounts already; one with nothing queued finds an empty queue.
        return [ctx.account_by_id(pk) for pk in sorted(account_ids)]
    accounts = ExchangeAccount.objects.filter(orders__state=OrderState.QUEUED).distinct()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    return [ctx.cached_account(account) for account in accounts]


def _has_queued(account_id: int) -> bool:
    return Order.objects.filter(account_id=account_id, state=OrderState.QUEUED).exists()


def dispatch(ctx: EngineContext, account_ids: set[int] | None = None, *, urgent_only: bool = False) -> int:
    """Send what the limits allow now; the rest waits for the next tick. Returns orders sent.

    Inside an engine transaction nothing is sent: the accounts are noted and their queues leave
    right after the commit (`EngineContext.write`), so no request ever goes out for a row that a
    crash could still roll back.
    """
    if ctx.in_write:
        if account_ids is None:
            account_ids = {account.pk for account in _accounts(ctx, None)}
        for account_id in account_ids:
            ctx.defer_dispatch(account_id)
        return 0
    sent = 0
    for account in _accounts(ctx, account_ids):
        if _paused(ctx, account.pk):
            continue
        try:
            limiter = ctx.limiter(account)
        except ExchangeError as exc:
            ctx.note_error(account.pk, exc)
            continue
        queue = _queued(account.pk, urgent_only)
        sent += _send_queue(ctx, account, limiter, queue)
        if limiter is not None and (queue or _has_queued(account.pk)):
            ExchangeAccount.objects.filter(pk=account.pk).update(
                rate_limit_headroom=round(limiter.headroom, 2)
            )
    return sent


def _send_queue(
    ctx: EngineContext, account: ExchangeAccount, limiter: OrderRateLimiter | None, queue: list[Order]
) -> int:
    """Send what the limiter allows, best first, as one batch. Returns orders sent.

    Every order of the batch takes its token up front; one an auth or funds failure then keeps
    from leaving (see `_send_batch`) does not give it back.
    """
    stopped = bool(account.entries_blocked_reason)
    batch = []
    for order in queue:
        if order.purpose in ENTRIES and stopped:
            orders.drop_unsent(ctx, order, "entries stopped on this account")
            continue
        if limiter is not None and not limiter.try_acquire():
            break
        batch.append(order)
    return _send_batch(ctx, account, batch) if batch else 0


# A batch's requests leave within this long of their SUBMITTING stamp: after a crash, "not found"
# counts as settled `SETTLE_MARGIN_SEC` past the request timeout from that stamp (`orders._settled`).
STAMP_WINDOW = timedelta(seconds=1)


def _send_batch(ctx: EngineContext, account: ExchangeAccount, batch: list[Order]) -> int:
    """Commit the batch SUBMITTING in one fenced write, then send it one order at a time.

    A 429 pauses the account: the unsent rest goes back to the queue. An auth or funds failure
    stops entries: the unsent entries are dropped, closes still leave.
    """
    sending.mark_submitting(ctx, batch)
    if sending.takes_batches(ctx, account):
        return _send_together(ctx, account, batch)
    accepted: list[tuple[Order, OrderReport]] = []

    def book_accepted() -> None:
        # Together, in one transaction, and before any other write: rows and events keep send order.
        sending.apply_accepted(ctx, accepted)
        accepted.clear()

    stopped = bool(account.entries_blocked_reason)
    sent = 0
    for n, order in enumerate(batch):
        if _paused(ctx, account.pk):  # a 429/418 on this batch: the rest waits out Retry-After
            book_accepted()
            sending.unmark(ctx, batch[n:])
            return sent
        if order.purpose in ENTRIES and stopped:
            book_accepted()
            sending.unmark(ctx, [order])
            orders.drop_unsent(ctx, order, "entries stopped on this account")
            continue
        if ctx.now() - order.updated_at > STAMP_WINDOW:  # slow requests: stamp the rest anew
            book_accepted()
            sending.restamp(ctx, batch[n:])
        outcome = sending.send(ctx, order, account)
        sent += 1
        if isinstance(outcome, ExchangeError):
            book_accepted()
            sending.refused(ctx, order, account, outcome)
            if order.state == OrderState.REJECTED:
                stopped = _entries_stopped(account.pk)  # an auth or funds failure stops the rest
        else:
            accepted.append((order, outcome))
    book_accepted()
    return sent


def _send_together(ctx: EngineContext, account: ExchangeAccount, batch: list[Order]) -> int:
    """A venue that takes the batch in one call: its outcomes are settled in send order, the
    accepted ones booked together between refusals (as `_send_batch` does one request at a time)."""
    accepted: list[tuple[Order, OrderReport]] = []
    for order, outcome in zip(batch, sending.send_all(ctx, batch, account), strict=True):
        if isinstance(outcome, ExchangeError):
            sending.apply_accepted(ctx, accepted)
            accepted.clear()
            sending.refused(ctx, order, account, outcome)
        else:
            accepted.append((order, outcome))
    sending.apply_accepted(ctx, accepted)
    return len(batch)
