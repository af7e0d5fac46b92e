"""Reading what the admission rules (`core/admission.py`) judge: live prices, balances, reservations.

Runs inside the signal's transaction, before its rows are written; a refused entry leaves no group,
no order and no account block behind.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount, MarketType, Venue

from .. import events
from ..compiled import CompiledSum
from ..core.admission import (
    Funds,
    assets_of,
    entry_deviation_problem,
    funds_problem,
    ladder_cost,
    mode_problem,
    stop_crossed_problem,
)
from ..core.clientid import Purpose
from ..core.ladder import LadderPlan
from ..core.numbers import fmt
from ..core.sizing import PyramidSize
from ..core.types import OrderSide, Side
from ..models import DcaLeg, Order, OrderState, Signal
from ..models.groups import OPEN_STATUSES
from . import prices
from .context import BALANCES, EngineContext

_UNSENT = [OrderState.QUEUED, OrderState.SUBMITTING]  # the exchange may not hold (or lock) them yet
_ENTRIES = [Purpose.ENTRY.value, Purpose.DCA.value]
_AMOUNT = DecimalField(max_digits=40, decimal_places=24)


def live_price(ctx: EngineContext, account: ExchangeAccount, symbol: str) -> Decimal | None:
    return prices.fetch(ctx, [(account.pk, symbol)]).get((account.pk, symbol))


def paper_mode_problem(ctx: EngineContext, account: ExchangeAccount) -> str | None:
    """Judged on arrival and again when a queued entry is promoted (the mode may change meanwhile)."""
    return mode_problem(ctx.cfg.app.mode, account.real_money, account.label)


def announce_paper_mode(ctx: EngineContext) -> None:
    """At start, in paper mode: an alert naming the enabled real-money accounts, whose entries will
    be rejected (an install that traded live before `app.mode` was read must not find out late)."""
    if ctx.cfg.app.mode != "paper":
        return
    accounts = ExchangeAccount.objects.filter(enabled=True).only("label", "venue", "sandbox")
    labels = [account.label for account in accounts if account.real_money]
    if labels:
        events.record(
            events.Category.ENGINE,
            f"app.mode is paper: entries on {', '.join(labels)} (real money) are rejected; positions"
            " already open there are still managed. Set app.mode to live to trade them.",
            severity=events.Severity.ERROR,
            now=ctx.now(),
        )


def price_problem(
    ctx: EngineContext,
    account: ExchangeAccount,
    signal: Signal,
    side: Side,
    stop_loss: Decimal | None,
) -> str | None:
    """The entry's price too far from the market, or its stop-loss already crossed; None if neither.

    Judged on arrival and again when a queued entry is promoted: an entry that waited while its
    market moved further than the limit is stale, and its ladder would fill at once.
    Without a live price (a venue that does not answer) the entry goes ahead, with a warning.
    """
    limit = ctx.cfg.grid_strategy.max_entry_deviation_percent
    if not signal.entry_price or (not limit and stop_loss is None):
        return None
    live = live_price(ctx, account, signal.symbol)
    if live is None:
        events.record(
            events.Category.SIGNAL,
            f"signal #{signal.pk}: no live price for {signal.symbol} on {account.label}; entry price"
            f" {fmt(signal.entry_price)} (and any stop-loss) taken unchecked",
            severity=events.Severity.WARNING,
            symbol=signal.symbol,
            timeframe=signal.timeframe,
            signal_id=signal.pk,
            now=ctx.now(),
        )
        return None
    return entry_deviation_problem(signal.entry_price, live, limit) or stop_crossed_problem(
        side, stop_loss, live
    )


def short_problem(
    ctx: EngineContext, account: ExchangeAccount, signal: Signal, side: Side, size: PyramidSize
) -> str | None:
    """Up front, before an entry is routed or queued: a short on a spot account needs the coins."""
    if side is not Side.SHORT or account.market_type != MarketType.SPOT or not signal.entry_price:
        return None
    need = size.amount if size.unit == "base" else size.amount / signal.entry_price
    return _funds_problem(ctx, account, signal.symbol, side, need)


def funds_problem_for(
    ctx: EngineContext,
    account: ExchangeAccount,
    symbol: str,
    side: Side,
    plan: LadderPlan,
    dca0_price: Decimal,
) -> str | None:
    """What the planned ladder spends against what the account can spend (spot accounts only)."""
    if account.market_type != MarketType.SPOT:
        return None
    legs = [
        (dca0_price if leg.index == 0 else leg.price, leg.qty)
        for leg in plan.legs
        if not leg.skipped and leg.qty > 0
    ]
    fee = ctx.cfg.exchange.paper_fee_percent if account.venue == Venue.PAPER else Decimal(0)
    return _funds_problem(ctx, account, symbol, side, ladder_cost(side, legs, fee))


def _funds_problem(
    ctx: EngineContext, account: ExchangeAccount, symbol: str, side: Side, need: Decimal
) -> str | None:
    base, quote = assets_of(symbol)
    asset = base if side is Side.SHORT else quote
    try:
        # Read once per batch of signals: while it holds its orders (`hold_orders`) nothing reaches
        # the venue, and what the batch queued counts as reserved below.
        balances = ctx.cached((BALANCES, account.pk), ctx.adapter(account).fetch_balance)
    except ExchangeError as exc:
        ctx.note_error(account.pk, exc)
        return None  # the exchange judges the order itself
    balance = balances.get(asset)
    free = balance.free if balance is not None else Decimal(0)
    reserved = _reserved_base(account, base) if side is Side.SHORT else _reserved_quote(account, quote)
    return funds_problem(side, True, need, Funds(asset, free, reserved), account.label)


def _reserved_base(account: ExchangeAccount, base: str) -> Decimal:
    """Coins a short must not sell: what the account's long groups hold, and unsent short entries."""
    held = _HELD.total(account.pk, base)
    selling = _SELLING.total(account.pk, base)
    return (held or Decimal(0)) + (selling or Decimal(0))


def _reserved_quote(account: ExchangeAccount, quote: str) -> Decimal:
    """Quote a long must not spend: what the account's short groups need to buy back, and unsent buys."""
    owed = _OWED.total(account.pk, quote)
    buying = _BUYING.total(account.pk, quote)
    return (owed or Decimal(0)) + (buying or Decimal(0))


def _open_legs(account_id: int, side: Side):
    return DcaLeg.objects.filter(
        group__account_id=account_id, group__status__in=OPEN_STATUSES, group__side=side.value
    )


def _unsent_entries(account_id: int, side: OrderSide):
    return Order.objects.filter(
        account_id=account_id, state__in=_UNSENT, purpose__in=_ENTRIES, side=side.value
    )


# Asked for every entry on a spot account (twice): compiled once, as `trading/compiled.py` says.
_OPEN_QTY = F("filled_qty") - F("closed_qty")
_HELD = CompiledSum(
    lambda account_id, base: _open_legs(account_id, Side.LONG).filter(group__symbol__startswith=f"{base}/"),
    Sum(_OPEN_QTY),
    0,
    "BASE",
)
_SELLING = CompiledSum(
    lambda account_id, base: _unsent_entries(account_id, OrderSide.SELL).filter(
        symbol__startswith=f"{base}/"
    ),
    Sum("qty"),
    0,
    "BASE",
)
_OWED = CompiledSum(
    lambda account_id, quote: _open_legs(account_id, Side.SHORT).filter(group__symbol__endswith=f"/{quote}"),
    Sum(ExpressionWrapper(_OPEN_QTY * F("avg_fill_price"), output_field=_AMOUNT)),
    0,
    "QUOTE",
)
_BUYING = CompiledSum(
    lambda account_id, quote: _unsent_entries(account_id, OrderSide.BUY).filter(
        symbol__endswith=f"/{quote}", price__isnull=False
    ),
    Sum(ExpressionWrapper(F("qty") * F("price"), output_field=_AMOUNT)),
    0,
    "QUOTE",
)
