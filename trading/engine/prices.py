"""Current prices, one request per account for all the symbols it needs (one `fetch_tickers`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount, LastPrice, Venue

from . import price_history
from .context import EngineContext


def fetch(ctx: EngineContext, markets: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Decimal]:
    """Last price per (account id, symbol); markets whose venue does not answer are left out.

    Within a batch of signals a market's price is asked once: twenty signals on one market cost one
    request (a live venue's `fetch_tickers`), not twenty; each batch (one tick) asks again.
    """
    wanted: dict[int, set[str]] = defaultdict(set)
    prices: dict[tuple[int, str], Decimal] = {}
    for account_id, symbol in markets:
        known = ctx.recall((PRICE, account_id, symbol))
        if known is not None:
            prices[(account_id, symbol)] = known
        else:
            wanted[account_id].add(symbol)
    fetched_now: dict[tuple[int, str], Decimal] = {}
    for account in _accounts(ctx, wanted):
        try:
            fetched = ctx.adapter(account).fetch_prices(sorted(wanted[account.pk]))
        except ExchangeError as exc:
            ctx.note_error(account.pk, exc)
            continue
        fetched_now.update({(account.pk, symbol): price for symbol, price in fetched.items()})
        if account.venue != Venue.PAPER:
            remember(account, fetched, ctx)
    for (account_id, symbol), price in fetched_now.items():
        ctx.note((PRICE, account_id, symbol), price)
    price_history.record(ctx, fetched_now)  # the group chart's thinned history (issue 12)
    return prices | fetched_now


PRICE = "price"  # batch-cache key of a market's price: (PRICE, account id, symbol)


def _accounts(ctx: EngineContext, wanted: dict[int, set[str]]) -> Iterable[ExchangeAccount]:
    if not wanted:
        return []
    if ctx.batching:  # the batch holds its accounts already
        return [ctx.account_by_id(pk) for pk in sorted(wanted)]
    return ExchangeAccount.objects.filter(pk__in=wanted)


def remember(account: ExchangeAccount, fetched: dict[str, Decimal], ctx: EngineContext) -> None:
    """Keep the last live prices for the console and API (only what changed is written)."""
    known = dict(LastPrice.objects.filter(account=account, symbol__in=fetched).values_list("symbol", "price"))
    now = ctx.now()
    changed = [s for s, p in fetched.items() if s in known and known[s] != p]
    new = [s for s in fetched if s not in known]
    for symbol in changed:
        LastPrice.objects.filter(account=account, symbol=symbol).update(price=fetched[symbol], updated_at=now)
    LastPrice.objects.bulk_create(
        [LastPrice(account=account, symbol=s, price=fetched[s], updated_at=now) for s in new],
        ignore_conflicts=True,
    )
