"""Sending orders: each request leaves only after its order is committed SUBMITTING.

If the request times out or the process dies, the next sync looks the order up by its client id
and only re-sends (with the same id) when the exchange has never seen it, so nothing is placed
twice (`orders.sync_one`). Several orders are committed SUBMITTING in one fenced write and then
sent one by one (`dispatch`); whatever a batch does not send goes back to the queue.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.db.models import F

from exchanges.core.adapter import (
    AuthenticationError,
    ExchangeError,
    OrderReport,
    OrderRequest,
    OrderType,
    RateLimited,
    TemporaryError,
)
from exchanges.models import ExchangeAccount
from exchanges.retry import RetryBudgetExceeded, RetryPolicy

from .. import events
from ..core.clientid import Purpose
from ..core.types import OrderSide
from ..models import Order, OrderState
from . import crashpoints, fills, order_states, orders
from .context import EngineContext


def mark_submitting(ctx: EngineContext, batch: list[Order]) -> None:
    """Commit the orders as SUBMITTING, in one fenced write, before any of their requests leaves.

    A crash mid-request is then recovered by looking each order up by its client id, never by
    sending blindly; an engine that lost its lease stops here.
    """
    if ctx.in_write:
        # The SUBMITTING rows must be committed before a request leaves (see the module doc).
        raise RuntimeError(f"order {batch[0].client_order_id} would be sent inside an open transaction")
    with ctx.write():
        moved = order_states.move_all(ctx, batch, OrderState.SUBMITTING, sends=F("sends") + 1, retry_at=None)
    for order in moved:
        order.sends, order.retry_at = order.sends + 1, None


def restamp(ctx: EngineContext, batch: list[Order]) -> None:
    """Stamp still-unsent SUBMITTING orders with the time now: a request must leave soon after its
    stamp, which is what `orders._settled` counts from."""
    now = ctx.now()
    with ctx.write():
        Order.objects.filter(pk__in=[o.pk for o in batch]).update(updated_at=now)
    for order in batch:
        order.updated_at = now


def unmark(ctx: EngineContext, batch: list[Order]) -> None:
    """Put SUBMITTING orders whose batch stopped before them back in the queue, as never sent (no
    event: to the trader they never left the queue)."""
    with ctx.write():
        moved = order_states.move_all(ctx, batch, OrderState.QUEUED, sends=F("sends") - 1)
    for order in moved:
        order.sends -= 1


def _request(order: Order) -> OrderRequest:
    return OrderRequest(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=OrderSide(order.side),
        type=OrderType(order.type),
        qty=order.qty,
        price=order.price,
        reduce_only=order.purpose not in (Purpose.ENTRY.value, Purpose.DCA.value),
    )


def send(ctx: EngineContext, order: Order, account: ExchangeAccount) -> OrderReport | ExchangeError:
    """Make the request for a committed SUBMITTING order: the exchange's report, or its refusal
    (settle that with `refused`; an accepted report with `apply_accepted`)."""
    try:
        report = ctx.adapter(account).create_order(_request(order))
    except ExchangeError as exc:
        ctx.note_error(account.pk, exc)
        return exc
    crashpoints.reached("order_sent")
    ctx.note_ok(account.pk)
    return report


def takes_batches(ctx: EngineContext, account: ExchangeAccount) -> bool:
    """Whether the account's venue places a batch of orders in one call (`create_orders`: the paper
    exchange). Asked of the adapter's class, so a wrapper that only forwards it is not taken for one."""
    return callable(getattr(type(ctx.adapter(account)), "create_orders", None))


def send_all(
    ctx: EngineContext, batch: list[Order], account: ExchangeAccount
) -> list[OrderReport | ExchangeError]:
    """`send` for a whole batch of committed SUBMITTING orders, in one call: one outcome per order."""
    try:
        outcomes = ctx.adapter(account).create_orders([_request(order) for order in batch])  # type: ignore[attr-defined]
    except ExchangeError as exc:
        ctx.note_error(account.pk, exc)
        return [exc] * len(batch)
    for _ in batch:
        crashpoints.reached("order_sent")
    ctx.note_ok(account.pk)
    return outcomes


def refused(ctx: EngineContext, order: Order, account: ExchangeAccount, exc: ExchangeError) -> None:
    """A temporary failure leaves the order SUBMITTING for the next sync; any other refusal
    (InvalidOrder, InsufficientFunds, AuthenticationError, ...) rejects it."""
    if isinstance(exc, TemporaryError):
        _back_off(ctx, order, exc)
    else:
        _reject(ctx, order, account, exc)


def apply_accepted(ctx: EngineContext, accepted: list[tuple[Order, OrderReport]]) -> None:
    """Record each accepted order and book its report, all in one transaction."""
    orders.book_reports(
        ctx, accepted, before_each=lambda order, report: order_states.accepted(ctx, order, report.status)
    )


_RETRY = RetryPolicy()


def _back_off(ctx: EngineContext, order: Order, exc: TemporaryError) -> None:
    """Wait (with jitter) before looking the order up and re-sending; a 429/418 pauses the account.

    The first look-up after a plain timeout happens at the next order sync (a lost answer is the
    common case, and the order may already be working); repeated failures back off exponentially.
    """
    try:
        first_timeout = order.sends <= 1 and not isinstance(exc, RateLimited)
        delay = 0.0 if first_timeout else _RETRY.delay(max(order.sends - 1, 1), exc, random.random)
    except RetryBudgetExceeded as ban:  # e.g. a 418 IP ban: wait it out, never hammer
        delay = ban.retry_after_sec or _RETRY.max_delay_sec
    order.error = f"temporary: {exc}"[:500]
    order.retry_at = ctx.now() + timedelta(seconds=delay)
    order.save(update_fields=["error", "retry_at"])
    if isinstance(exc, RateLimited):
        pause = max(delay, exc.retry_after_sec or 0)
        ctx.paused_until[order.account_id] = ctx.now() + timedelta(seconds=pause)
    events.record(
        events.Category.ORDER,
        f"order {order.client_order_id} not confirmed ({exc}); looking it up by client id"
        f" {'at the next sync' if not delay else f'in {delay:.1f} s'} before re-sending",
        severity=events.Severity.WARNING,
        symbol=order.symbol,
        group_id=order.group_id,
    )


def _reject(ctx: EngineContext, order: Order, account: ExchangeAccount, exc: Exception) -> None:
    with transaction.atomic():
        order_states.move(ctx, order, OrderState.REJECTED, reason=f"{account.label}: {exc}", save=False)
        order.error = str(exc)[:500]  # the exchange's words alone (the event names the account)
        order.save(update_fields=["state", "error", "updated_at"])
        if isinstance(exc, AuthenticationError):
            # Account-wide: every later order would fail the same way. A funds refusal is not: it
            # rejects this order (alerted by its move) and the account's other entries go on.
            account.entries_blocked_reason = f"{type(exc).__name__}: {exc}"[:200]
            account.save(update_fields=["entries_blocked_reason"])
        fills.order_finished(ctx, order)
