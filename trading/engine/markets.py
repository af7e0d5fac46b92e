"""Keeping each account's precision rules fresh; a failed refresh is an alert, never a crash."""

from __future__ import annotations

import logging

from exchanges.core.adapter import ExchangeError
from exchanges.markets import sync_market_rules
from exchanges.models import ExchangeAccount, MarketRule

from .. import events
from ..compiled import CompiledSelect
from .context import EngineContext

log = logging.getLogger(__name__)


def _rule_by(field: str) -> CompiledSelect[MarketRule]:
    return CompiledSelect(
        lambda account_id, value: MarketRule.objects.filter(account_id=account_id, **{field: value}).order_by(
            "id"
        ),
        -1,
        "(value)",
    )


# A signal's first on a market asks twice (exchange symbol, then ours): compiled, as `compiled` says.
_RULE_BY = {"symbol": _rule_by("symbol"), "exchange_symbol": _rule_by("exchange_symbol")}


def rule_row(ctx: EngineContext, account_id: int, field: str, value: str) -> MarketRule | None:
    """The account's MarketRule row whose `field` ("symbol" or "exchange_symbol") is `value`.

    Remembered until this engine refreshes the account's markets: a burst of signals on thirty
    markets otherwise reads the same rows hundreds of times.
    """
    key = (account_id, field, value)
    if key not in ctx.market_rows:
        row = ctx.market_rows[key] = _RULE_BY[field].first(account_id, value)
        if row is not None:  # a symbol is unique per account: the entry's own lookup by it is answered
            ctx.market_rows.setdefault((account_id, "symbol", row.symbol), row)
    return ctx.market_rows[key]


def refresh_account(ctx: EngineContext, account: ExchangeAccount) -> bool:
    ctx.forget_markets(account.pk)
    try:
        catalog = ctx.adapter(account).load_markets()
        changed = sync_market_rules(account, catalog, ctx.now())
    except (ExchangeError, OSError, ValueError) as exc:
        events.record(
            events.Category.PRECISION,
            f"market rules refresh failed on {account.label}: {exc}",
            severity=events.Severity.ERROR,
            now=ctx.now(),
        )
        ExchangeAccount.objects.filter(pk=account.pk).update(last_error=str(exc)[:500])
        return False
    if changed:
        events.record(
            events.Category.PRECISION,
            f"market rules of {account.label} synced: {changed} market(s) changed",
            now=ctx.now(),
        )
    return True


def refresh_all(ctx: EngineContext, force: bool = False) -> int:
    """Refresh accounts whose rules are older than `precision_refresh_sec` (all of them if forced)."""
    interval = ctx.cfg.exchange.precision_refresh_sec
    now = ctx.now()
    done = 0
    for account in ExchangeAccount.objects.filter(enabled=True):
        due = (
            account.markets_synced_at is None or (now - account.markets_synced_at).total_seconds() >= interval
        )
        if (force or due) and refresh_account(ctx, account):
            done += 1
    return done
