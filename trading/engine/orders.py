"""Order rows and keeping them in step with the exchange (sending them: `sending.py`).

An order row is committed in SUBMITTING state before the request goes out. If the request times
out or the process dies, the next sync looks the order up by its client id and only re-sends
(with the same id) when the exchange has never seen it, so nothing is placed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from exchanges.core.adapter import ExchangeAdapter, ExchangeError, OrderReport, OrderStatus
from exchanges.models import ExchangeAccount

from .. import events
from ..compiled import save_fields
from ..core.clientid import Purpose, client_order_id
from ..core.precision import order_violations
from ..core.types import MarketRules, OrderSide
from ..models import DcaLeg, Order, OrderState, PositionGroup
from ..models.orders import LIVE_ORDER_STATES
from . import fills, order_states
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


def fenced(ctx: EngineContext) -> AbstractContextManager[None]:
    """A fenced write of its own, or nothing inside one: the enclosing write already fenced, and
    everything in it commits or rolls back together (no savepoint needed)."""
    return nullcontext() if ctx.in_write else ctx.write()


def build_order(
    ctx: EngineContext,
    *,
    group: PositionGroup,
    leg: DcaLeg | None,
    purpose: Purpose,
    side: OrderSide,
    order_type: str,
    qty: Decimal,
    price: Decimal | None,
    attempt: int,
    allocations: dict[str, str] | None = None,
) -> Order:
    """An unsaved QUEUED order of this engine's lease; its client id names the attempt."""
    pyramid_index = leg.pyramid.index if leg is not None else None
    leg_index = leg.index if leg is not None else None
    now = ctx.now()
    return Order(
        client_order_id=client_order_id(ctx.namespace, group.pk, pyramid_index, leg_index, purpose, attempt),
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
    with fenced(ctx):
        attempt = _next_attempt(
            group,
            leg.pyramid.index if leg is not None else None,
            leg.index if leg is not None else None,
            purpose,
        )
        order = build_order(
            ctx,
            group=group,
            leg=leg,
            purpose=purpose,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price,
            attempt=attempt,
            allocations=allocations,
        )
        order.save(force_insert=True)
        return order


def insert_orders(ctx: EngineContext, built: list[Order]) -> list[Order]:
    """Write built orders in one statement under this engine's lease (a new ladder's first attempts)."""
    with fenced(ctx):
        return Order.objects.bulk_create(built)


def preflight(ctx: EngineContext, order: Order, rules: MarketRules, reference_price: Decimal) -> bool:
    """Block (never send) an order the exchange would refuse. Returns True if it may go."""
    price = order.price if order.price is not None else reference_price
    found = order_violations(price, order.qty, rules)
    if not found:
        return True
    order_states.move(
        ctx,
        order,
        OrderState.BLOCKED,
        reason="; ".join(v.message for v in found),
        context={"price": price, "rules": rules.__dict__},
    )
    return False


def book_reports(
    ctx: EngineContext,
    reports: list[tuple[Order, OrderReport]],
    before_each: Callable[[Order, OrderReport], None] | None = None,
) -> None:
    """Book reports on orders the caller holds fresh, in one fenced transaction with one
    `fills.Book` for all of them.

    Fenced like every write that moves money: the caller's rows are only fresh while this engine
    holds the lease. A stale engine whose request outlived a takeover would otherwise book a fill
    the new engine has already booked (it looks SUBMITTING orders up by client id), doubling the
    position; now its write fails with LeaseLost and the new engine's booking stands. Lazy: lost in
    a database crash, a report is looked up again by client id (on PostgreSQL the laziness rides
    on the fence's round trip: no statement more than the `SET LOCAL` it replaces).
    """
    if not reports:
        return
    with ctx.write(lazy=True), events.batched():
        book = fills.Book(order for order, _ in reports)
        for order, report in reports:
            if before_each is not None:
                before_each(order, report)
            _apply(ctx, order, report, book.position(order))


def apply_report(ctx: EngineContext, order: Order, report: OrderReport) -> None:
    """Bring our order row (and its leg, group and trades) in line with the exchange's view."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.state == OrderState.SUBMITTING:  # its answer was lost: a lookup found it
            order_states.accepted(ctx, order, report.status, how=" (found by its client id)")
        _apply(ctx, order, report, fills.position_of(order))


def _apply(ctx: EngineContext, order: Order, report: OrderReport, position: fills.Position) -> None:
    """`apply_report` on a row the caller holds fresh, inside its transaction."""
    if report.filled_qty - order.filled_qty > 0:
        fills.book_fill(ctx, order, report, position)
    order.exchange_order_id = report.exchange_order_id or order.exchange_order_id
    new = _reported_state(order, report)
    order_states.move(ctx, order, new, **_why(ctx, order, report, new), save=False)
    order.updated_at = ctx.now()
    save_fields(order, _REPORTED)
    fills.settle(ctx, order, position)


# What a report can change on our order row.
_REPORTED = ("filled_qty", "avg_fill_price", "fee_quote", "exchange_order_id", "state", "error", "updated_at")


def _reported_state(order: Order, report: OrderReport) -> str:
    if report.status is not OrderStatus.OPEN:
        return _STATE_FROM_REPORT[report.status]
    if order.state == OrderState.CANCELLING:
        return order.state  # still resting: the cancel we asked for is not confirmed yet
    return OrderState.PARTIALLY_FILLED if report.filled_qty > 0 else OrderState.OPEN


def _why(ctx: EngineContext, order: Order, report: OrderReport, new: str) -> dict[str, str]:
    """The reason (and loudness) a report's final state is told with, when it is not our doing."""
    if new == OrderState.REJECTED and order.state != new:
        return {"reason": f"{ctx.account_by_id(order.account_id).label}: reported {report.status.value}"}
    if new != OrderState.CANCELLED or order.state in (OrderState.CANCELLING, new):
        return {}  # a cancel we asked for tells its own reason (kept on the row)
    what = "expired" if report.status is OrderStatus.EXPIRED else "cancelled"
    return {"reason": f"{what} by the exchange", "severity": events.Severity.WARNING}


def drop_unsent(ctx: EngineContext, order: Order, reason: str) -> None:
    """Cancel an order that never left the queue: nothing to ask the exchange."""
    with fenced(ctx):
        order_states.move(ctx, order, OrderState.CANCELLED, reason=reason)
        fills.order_finished(ctx, order)


def drop_unsent_entries(ctx: EngineContext, group: PositionGroup, unsent: list[Order], reason: str) -> None:
    """`drop_unsent` for several QUEUED entry orders of one group: one UPDATE for the orders,
    their legs settled together, the group's status derived once."""
    with fenced(ctx):
        order_states.move_all(ctx, unsent, OrderState.CANCELLED, reason=reason)
        fills.end_entries([o.leg_id for o in unsent if o.leg_id is not None])
        fills.refresh_group(ctx, group)


def cancel_sent(ctx: EngineContext, sent: list[Order], reason: str) -> None:
    """Ask the exchange to cancel each order (fresh rows); book the answers together. The reason
    is kept on each row: the report confirming the cancel tells it."""
    by_account: dict[int, list[Order]] = {}
    for order in sent:
        by_account.setdefault(order.account_id, []).append(order)
    for account_id, batch in by_account.items():
        _cancel_at(ctx, ctx.account_by_id(account_id), batch, reason)


def _cancel_at(ctx: EngineContext, account: ExchangeAccount, batch: list[Order], reason: str) -> None:
    order_states.move_all(ctx, batch, OrderState.CANCELLING, reason=reason)
    ctx.forget_balances(account.pk)  # a cancel frees funds
    cancelled: list[tuple[Order, OrderReport]] = []
    for order, outcome in zip(batch, _ask_to_cancel(ctx.adapter(account), batch), strict=True):
        if isinstance(outcome, ExchangeError):
            book_reports(ctx, cancelled)  # what came before is booked before this is told
            cancelled = []
            ctx.note_error(account.pk, outcome)
            _cancel_again_later(ctx, order, outcome)
            continue
        cancelled.append((order, outcome))
    book_reports(ctx, cancelled)


CANCEL_RETRY_SEC = 5


def _cancel_again_later(ctx: EngineContext, order: Order, error: ExchangeError) -> None:
    """An unconfirmed cancel leaves the order resting at the venue, where it can still fill after
    its group's exit: `retry_cancels` asks again. Told once, not on every failed retry."""
    if order.retry_at is None:
        events.record(
            events.Category.ORDER,
            f"cancel of {order.client_order_id} not confirmed: {error}; asked again every"
            f" {CANCEL_RETRY_SEC} s until the exchange answers",
            severity=events.Severity.WARNING,
            symbol=order.symbol,
            group_id=order.group_id,
        )
    order.retry_at = ctx.now() + timedelta(seconds=CANCEL_RETRY_SEC)
    order.save(update_fields=["retry_at"])


def retry_cancels(ctx: EngineContext) -> int:
    """Ask again for the cancels whose time has come (`_cancel_again_later`); returns how many."""
    due = list(Order.objects.filter(state=OrderState.CANCELLING, retry_at__lte=ctx.now()).order_by("id"))
    # Already Cancelling: each keeps the reason it was first cancelled with.
    cancel_sent(ctx, due, reason="")
    return len(due)


def _ask_to_cancel(adapter: ExchangeAdapter, batch: list[Order]) -> list[OrderReport | ExchangeError]:
    """One outcome per order: in one call where the venue cancels in batches (`cancel_orders`:
    the paper exchange), else one request each."""
    requests = [(order.client_order_id, order.symbol) for order in batch]
    if callable(getattr(type(adapter), "cancel_orders", None)):
        return adapter.cancel_orders(requests)  # type: ignore[attr-defined]
    outcomes: list[OrderReport | ExchangeError] = []
    for client_id, symbol in requests:
        try:
            outcomes.append(adapter.cancel_order(client_id, symbol))
        except ExchangeError as exc:
            outcomes.append(exc)
    return outcomes


def sync_live_orders(ctx: EngineContext, symbol: str | None = None) -> int:
    """Bring every live order (optionally of one symbol) in line with its exchange.

    One `fetch_open_orders` per account answers for every order still resting; only orders that
    left the open list (filled, cancelled, unknown) are looked up one by one. Per-order polling
    would grow with the book: 800 resting orders cost ~400 ms per sync on paper alone.
    """
    qs = Order.objects.filter(state__in=LIVE_ORDER_STATES).exclude(state=OrderState.QUEUED)
    if symbol is not None:
        qs = qs.filter(symbol=symbol)
    by_account: dict[int, list[Order]] = {}
    for order in qs.order_by("id"):
        by_account.setdefault(order.account_id, []).append(order)
    changed = 0
    for account_id, live in by_account.items():
        # One account row per account, shared by its orders: joined to every order row, its three
        # encrypted keys were decrypted once per resting order, twice a second.
        account = ctx.account_by_id(account_id)
        for order in live:
            order.account = account
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
            order_states.move(
                ctx, order, OrderState.QUEUED, reason="the exchange never got it; it is sent again"
            )
            return 1
        with transaction.atomic():
            order_states.move(
                ctx,
                order,
                OrderState.CANCELLED,
                reason="the exchange no longer knows this order",
                severity=events.Severity.WARNING,
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
