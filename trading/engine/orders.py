"""Sending orders idempotently and keeping them in step with the exchange.

An order row is committed in SUBMITTING state before the request goes out. If the request times
out or the process dies, the next sync looks the order up by its client id and only re-sends
(with the same id) when the exchange has never seen it, so nothing is placed twice.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from exchanges.core.adapter import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    RateLimited,
    TemporaryError,
)
from exchanges.models import ExchangeAccount
from exchanges.retry import RetryBudgetExceeded, RetryPolicy

from .. import events
from ..core.clientid import Purpose, client_order_id
from ..core.numbers import fmt
from ..core.precision import order_violations
from ..core.types import MarketRules, OrderSide
from ..models import DcaLeg, Order, OrderState, PositionGroup
from ..models.orders import LIVE_ORDER_STATES
from . import crashpoints, fills
from .context import EngineContext

_STATE_FROM_REPORT = {
    OrderStatus.FILLED: OrderState.FILLED,
    OrderStatus.CANCELLED: OrderState.CANCELLED,
    OrderStatus.EXPIRED: OrderState.CANCELLED,
    OrderStatus.REJECTED: OrderState.REJECTED,
}


def _next_attempt(group: PositionGroup, pyramid: int | None, leg: int | None, purpose: Purpose) -> int:
    qs = Order.objects.filter(group=group, purpose=purpose.value)
    if leg is not None:
        qs = qs.filter(leg__index=leg, leg__pyramid__index=pyramid)
    else:
        qs = qs.filter(leg__isnull=True)
    return qs.count()


def new_order(
    ctx: EngineContext,
    *,
    group: PositionGroup,
    leg: DcaLeg | None,
    purpose: Purpose,
    side: OrderSide,
    order_type: str,
    qty: Decimal,
    price: Decimal | None,
    allocations: dict[str, str] | None = None,
) -> Order:
    """Write a QUEUED order under this engine's lease (a stale engine's insert fails: LeaseLost)."""
    pyramid_index = leg.pyramid.index if leg is not None else None
    leg_index = leg.index if leg is not None else None
    now = ctx.now()
    with ctx.write():
        attempt = _next_attempt(group, pyramid_index, leg_index, purpose)
        return Order.objects.create(
            client_order_id=client_order_id(
                ctx.namespace, group.pk, pyramid_index, leg_index, purpose, attempt
            ),
            account_id=group.account_id,
            group=group,
            leg=leg,
            purpose=purpose.value,
            symbol=group.symbol,
            side=side.value,
            type=order_type,
            price=price,
            qty=qty,
            allocations=allocations or {},
            attempt=attempt,
            lease_epoch=ctx.epoch,
            created_at=now,
            updated_at=now,
        )


def preflight(order: Order, rules: MarketRules, reference_price: Decimal) -> bool:
    """Block (never send) an order the exchange would refuse. Returns True if it may go."""
    price = order.price if order.price is not None else reference_price
    found = order_violations(price, order.qty, rules)
    if not found:
        return True
    order.state = OrderState.BLOCKED
    order.error = "; ".join(v.message for v in found)[:500]
    order.save(update_fields=["state", "error"])
    events.record(
        events.Category.PRECISION,
        f"order {order.client_order_id} blocked before sending: {order.error}",
        severity=events.Severity.WARNING,
        symbol=order.symbol,
        group_id=order.group_id,
        context={"qty": order.qty, "price": price, "rules": rules.__dict__},
    )
    return False


def submit(ctx: EngineContext, order: Order, account: ExchangeAccount | None = None) -> Order:
    """Send the order once; on a temporary failure leave it SUBMITTING for the next sync.

    The SUBMITTING row is committed before the request leaves, so a crash mid-request is
    recovered by looking the order up by its client id, never by sending blindly.
    """
    if ctx.in_write:
        # The SUBMITTING row must be committed before the request leaves (see the module doc).
        raise RuntimeError(f"order {order.client_order_id} would be sent inside an open transaction")
    account = account or ExchangeAccount.objects.get(pk=order.account_id)
    with ctx.write():  # fenced: an engine that lost its lease stops here, before the request
        order.state = OrderState.SUBMITTING
        order.sends += 1
        order.retry_at = None
        order.updated_at = ctx.now()
        order.save(update_fields=["state", "sends", "retry_at", "updated_at"])
    request = OrderRequest(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=OrderSide(order.side),
        type=OrderType(order.type),
        qty=order.qty,
        price=order.price,
        reduce_only=order.purpose not in (Purpose.ENTRY.value, Purpose.DCA.value),
    )
    try:
        report = ctx.adapter(account).create_order(request)
    except TemporaryError as exc:
        ctx.note_error(account.pk, exc)
        _back_off(ctx, order, exc)
        return order
    except ExchangeError as exc:  # InvalidOrder, InsufficientFunds, AuthenticationError, ...
        ctx.note_error(account.pk, exc)
        _reject(ctx, order, account, exc)
        return order
    crashpoints.reached("order_sent")
    ctx.note_ok(account.pk)
    events.record(
        events.Category.ORDER,
        f"{order.purpose} order {order.client_order_id} accepted: {order.side} {fmt(order.qty)} {order.symbol}"
        + (f" @ {fmt(order.price)}" if order.price is not None else " at market"),
        symbol=order.symbol,
        group_id=order.group_id,
        context={"request": request.__dict__, "status": report.status.value},
    )
    apply_report(ctx, order, report)
    return order


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
        order.state = OrderState.REJECTED
        order.error = str(exc)[:500]
        order.updated_at = ctx.now()
        order.save(update_fields=["state", "error", "updated_at"])
        if isinstance(exc, InsufficientFunds | AuthenticationError):
            account.entries_blocked_reason = f"{type(exc).__name__}: {exc}"[:200]
            account.save(update_fields=["entries_blocked_reason"])
        fills.order_finished(ctx, order)
    events.record(
        events.Category.ORDER,
        f"order {order.client_order_id} rejected by {account.label}: {exc}",
        severity=events.Severity.ERROR,
        symbol=order.symbol,
        group_id=order.group_id,
    )


def apply_report(ctx: EngineContext, order: Order, report: OrderReport) -> None:
    """Bring our order row (and its leg, group and trades) in line with the exchange's view."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        delta = report.filled_qty - order.filled_qty
        if delta > 0:
            fills.book_fill(ctx, order, report)
        order.exchange_order_id = report.exchange_order_id or order.exchange_order_id
        if report.status is OrderStatus.OPEN:
            if order.state != OrderState.CANCELLING:
                order.state = OrderState.PARTIALLY_FILLED if report.filled_qty > 0 else OrderState.OPEN
        else:
            order.state = _STATE_FROM_REPORT[report.status]
        order.updated_at = ctx.now()
        order.save()
        fills.order_accepted(ctx, order)
        if order.state not in LIVE_ORDER_STATES:
            fills.order_finished(ctx, order)


def drop_unsent(ctx: EngineContext, order: Order, reason: str) -> None:
    """Cancel an order that never left the queue: nothing to ask the exchange."""
    order.state = OrderState.CANCELLED
    order.error = reason[:500]
    order.updated_at = ctx.now()
    order.save(update_fields=["state", "error", "updated_at"])
    fills.order_finished(ctx, order)


def cancel(ctx: EngineContext, order: Order) -> None:
    if order.state == OrderState.QUEUED:
        drop_unsent(ctx, order, "cancelled before it was sent")
        return
    account = ExchangeAccount.objects.get(pk=order.account_id)
    order.state = OrderState.CANCELLING
    order.save(update_fields=["state"])
    try:
        report = ctx.adapter(account).cancel_order(order.client_order_id, order.symbol)
    except ExchangeError as exc:
        ctx.note_error(account.pk, exc)
        events.record(
            events.Category.ORDER,
            f"cancel of {order.client_order_id} not confirmed: {exc}",
            severity=events.Severity.WARNING,
            symbol=order.symbol,
            group_id=order.group_id,
        )
        return
    apply_report(ctx, order, report)


def sync_live_orders(ctx: EngineContext, symbol: str | None = None) -> int:
    """Bring every live order (optionally of one symbol) in line with its exchange.

    One `fetch_open_orders` per account answers for every order still resting; only orders that
    left the open list (filled, cancelled, unknown) are looked up one by one. Per-order polling
    would grow with the book: 800 resting orders cost ~400 ms per sync on paper alone.
    """
    qs = (
        Order.objects.filter(state__in=LIVE_ORDER_STATES)
        .exclude(state=OrderState.QUEUED)
        .select_related("account")
    )
    if symbol is not None:
        qs = qs.filter(symbol=symbol)
    by_account: dict[int, list[Order]] = {}
    for order in qs.order_by("id"):
        by_account.setdefault(order.account_id, []).append(order)
    changed = 0
    for live in by_account.values():
        account = live[0].account
        try:
            open_now = {r.client_order_id: r for r in ctx.adapter(account).fetch_open_orders(symbol)}
            ctx.note_ok(account.pk)
        except ExchangeError as exc:
            ctx.note_error(account.pk, exc)
            open_now = None  # fall back to looking each order up
        for order in live:
            report = open_now.get(order.client_order_id) if open_now is not None else None
            changed += _adopt(ctx, order, report) if report is not None else sync_one(ctx, order)
    return changed


def _adopt(ctx: EngineContext, order: Order, report: OrderReport) -> int:
    """Apply an open-order report if it tells us anything new."""
    unchanged = report.filled_qty == order.filled_qty and (
        report.status is OrderStatus.OPEN and order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
    )
    if unchanged:
        return 0
    apply_report(ctx, order, report)
    return 1


def sync_one(ctx: EngineContext, order: Order) -> int:
    if order.retry_at is not None and order.retry_at > ctx.now():
        return 0  # backing off after a temporary failure
    try:
        report = ctx.adapter(order.account).fetch_order(order.client_order_id, order.symbol)
    except ExchangeError as exc:
        ctx.note_error(order.account_id, exc)
        order.error = f"sync: {exc}"[:500]
        order.save(update_fields=["error"])
        return 0
    ctx.note_ok(order.account_id)
    if report is None:
        if order.state == OrderState.SUBMITTING:
            if not _settled(ctx, order):
                return 0  # a request may still be on its way (e.g. an engine that died mid-send)
            # The exchange never saw it: it goes back into the account's queue and is sent again
            # with the same client id, within the pause, the rate limit and the close-first order.
            order.state = OrderState.QUEUED
            order.updated_at = ctx.now()
            order.save(update_fields=["state", "updated_at"])
            return 1
        order.state = OrderState.CANCELLED
        order.error = "the exchange no longer knows this order"
        order.updated_at = ctx.now()
        order.save(update_fields=["state", "error", "updated_at"])
        events.record(
            events.Category.ORDER,
            f"order {order.client_order_id} unknown to the exchange; marked cancelled",
            severity=events.Severity.WARNING,
            symbol=order.symbol,
            group_id=order.group_id,
        )
        fills.order_finished(ctx, order)
        return 1
    return _adopt(ctx, order, report)


def _settled(ctx: EngineContext, order: Order) -> bool:
    """Whether a request for this SUBMITTING order can no longer reach the exchange.

    "Not found" only proves the exchange never got the order once any request that was in flight
    has timed out: a request sent just before a crash (or by an engine that lost its lock) can
    still arrive. Until then the order is looked up again, never re-sent.
    """
    timeout = getattr(ctx.adapter(order.account), "request_timeout_sec", 0)
    return ctx.now() - order.updated_at >= timedelta(seconds=timeout + SETTLE_MARGIN_SEC) if timeout else True


SETTLE_MARGIN_SEC = 5
