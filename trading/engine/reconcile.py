"""Reconciliation: compare our open orders with each exchange's and explain every difference.

Fills that happened while the engine was down are adopted by the order sync; orders the exchange
no longer knows are marked; anything else is raised as an alert — never silently "fixed" by trading.
"""

from __future__ import annotations

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount

from .. import events
from ..core.clientid import parse_client_order_id
from ..models import Order
from ..models.orders import LIVE_ORDER_STATES
from . import orders
from .context import EngineContext


def unexplained_open_orders(ctx: EngineContext, account: ExchangeAccount) -> list[str]:
    """Open orders on the exchange that the engine did not place or no longer tracks as live."""
    try:
        reports = ctx.adapter(account).fetch_open_orders()
    except ExchangeError as exc:
        ctx.note_error(account.pk, exc)
        return []
    ours = dict(Order.objects.filter(account=account).values_list("client_order_id", "state"))
    found = []
    for report in reports:
        state = ours.get(report.client_order_id)
        if state in LIVE_ORDER_STATES:
            continue
        parsed = parse_client_order_id(report.client_order_id or "")
        if state is not None:
            # Ours, but we believe it finished (e.g. marked cancelled when a lookup missed it):
            # it could still fill without the engine booking it.
            origin = f"this engine's order, recorded as {state}"
        elif parsed and parsed.namespace != ctx.namespace:
            origin = "an engine-style id from another install"
        else:
            origin = (
                "an id of this engine that it has no record of" if parsed else "not placed by this engine"
            )
        found.append(
            f"{report.symbol} {report.side} {report.qty} ({report.client_order_id or report.exchange_order_id}: {origin})"
        )
    return found


def reconcile(ctx: EngineContext) -> int:
    """Sync every live order, then alert on open orders nobody can explain. Returns orders changed."""
    changed = orders.sync_live_orders(ctx)
    for account in ExchangeAccount.objects.filter(enabled=True):
        for line in unexplained_open_orders(ctx, account):
            events.record(
                events.Category.ORDER,
                f"reconciliation on {account.label}: open order {line}; left untouched",
                severity=events.Severity.ERROR,
                now=ctx.now(),
            )
    return changed
