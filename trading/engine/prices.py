"""Current prices, one request per account for all the symbols it needs (one `fetch_tickers`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount, LastPrice, Venue

from .context import EngineContext


def fetch(ctx: EngineContext, markets: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Decimal]:
    """Last price per (account id, symbol); markets whose venue does not answer are left out."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for account_id, symbol in markets:
        wanted[account_id].add(symbol)
    prices: dict[tuple[int, str], Decimal] = {}
    for account in ExchangeAccount.objects.filter(pk__in=wanted):
        try:
            fetched = ctx.adapter(account).fetch_prices(sorted(wanted[account.pk]))
        except ExchangeError as exc:
            ctx.note_error(account.pk, exc)
            continue
        prices.update({(account.pk, symbol): price for symbol, price in fetched.items()})
        if account.venue != Venue.PAPER:
            remember(account, fetched, ctx)
    return prices


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
