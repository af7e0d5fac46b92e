"""Which account and market a signal trades on, and the batch's prices asked together.

Nothing here decides a signal's outcome (intake does): promotion reuses the same resolution when a
queued entry gets its slot, so a symbol is judged the same way on arrival and on promotion.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount
from exchanges.registry import account_for_signal, disabled_accounts_for_signal

from ..core.symbols import compact_symbol
from ..core.types import Intent
from ..models import Signal
from . import markets, prices, queueing
from .context import EngineContext
from .fencing import LeaseLost

log = logging.getLogger(__name__)


def resolve_market(ctx: EngineContext, account: ExchangeAccount, signal: Signal) -> tuple[str | None, bool]:
    """(unified symbol or None, rules_fresh). Unknown only when the account's markets are loaded."""
    row = markets.rule_row(ctx, account.pk, "exchange_symbol", compact_symbol(signal.raw_symbol)) or (
        markets.rule_row(ctx, account.pk, "symbol", signal.symbol or "")
    )
    synced = account.markets_synced_at
    fresh = (
        synced is not None
        and (ctx.now() - synced).total_seconds() <= ctx.cfg.exchange.precision_stale_after_sec
    )
    if row is None or not row.active:
        return None, fresh
    return row.symbol, fresh


def signal_account(ctx: EngineContext, signal: Signal) -> ExchangeAccount | None:
    """The account a signal trades on: the same instance for the whole batch (see `cached_account`)."""
    exchange, default = signal.exchange or None, ctx.cfg.exchange.default_account
    account = ctx.cached(("route", exchange, default), lambda: account_for_signal(exchange, default))
    return ctx.cached_account(account) if account is not None else None


def unknown_symbol_reason(signal: Signal, account: ExchangeAccount) -> str:
    return f"rejected: unknown symbol {signal.raw_symbol} on {signal.exchange or account.venue}"


def exit_account(
    ctx: EngineContext, signal: Signal, routed: ExchangeAccount | None
) -> ExchangeAccount | None:
    """The account an exit or reduce closes on: the routed one, unless it holds no live group for the
    market and a disabled account of the same venue does (disabling an account stops new entries;
    the way out of its open groups stays open)."""
    if routed is not None:
        symbol, _ = resolve_market(ctx, routed, signal)
        if symbol is not None and queueing.live_group(routed.pk, symbol, signal.timeframe) is not None:
            return routed
    exchange, default = signal.exchange or None, ctx.cfg.exchange.default_account
    disabled = ctx.cached(
        ("disabled", exchange, default), lambda: disabled_accounts_for_signal(exchange, default)
    )
    for candidate in disabled:
        symbol, _ = resolve_market(ctx, candidate, signal)
        if symbol is not None and queueing.live_group(candidate.pk, symbol, signal.timeframe) is not None:
            return ctx.cached_account(candidate)
    return routed


def ask_prices_once(ctx: EngineContext, pending: list[Signal]) -> None:
    """The batch's entries ask their venues for prices together: one request per account (a live
    venue's `fetch_tickers`) instead of one per market as each entry is decided. A paper market
    without a price takes the signal's first (`hint_price`), as it would when the entry is judged.

    Only a head start: whatever goes wrong here is logged and each entry asks for itself, where an
    error rejects that one signal. Nothing here may stop the batch (a poison batch would stop
    trading); a lost lease still does.
    """
    try:
        wanted = set()
        for signal in pending:
            if signal.intent not in (Intent.SIGNAL.value, Intent.REVERSE.value):
                continue
            account = signal_account(ctx, signal)
            symbol = resolve_market(ctx, account, signal)[0] if account is not None else None
            if symbol is not None:
                wanted.add((account.pk, symbol))
                hint_price(ctx, account, symbol, signal.entry_price)
        if wanted:
            prices.fetch(ctx, wanted)
    except LeaseLost:
        raise
    except Exception:  # noqa: BLE001 - the signals are judged one by one below
        log.exception("asking the batch's prices at once failed; each entry asks for itself")


def hint_price(ctx: EngineContext, account: ExchangeAccount, symbol: str, price: Decimal | None) -> None:
    """A paper market without a price takes the signal's (live venues ignore the hint)."""
    if price:
        try:
            ctx.adapter(account).hint_price(symbol, price)
        except ExchangeError:
            pass
