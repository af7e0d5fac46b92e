"""Current prices, one request per account for all the symbols it needs (one `fetch_tickers`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount

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
    return prices
