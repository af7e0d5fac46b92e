"""The last price of each market as the engine left it: the web never asks a venue."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from exchanges.models import LastPrice
from exchanges.paper_models import PaperPrice


def last_prices(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Decimal]:
    """Last known prices by (account id, symbol): the paper exchange's price for paper accounts, the
    engine's last fetched price for live venues; markets without one are left out."""
    pairs = set(pairs)
    if not pairs:
        return {}
    accounts = {a for a, _ in pairs}
    symbols = {s for _, s in pairs}
    found: dict[tuple[int, str], Decimal] = {}
    for model in (LastPrice, PaperPrice):
        rows = model.objects.filter(account_id__in=accounts, symbol__in=symbols).values_list(
            "account_id", "symbol", "price"
        )
        found.update({(a, s): p for a, s, p in rows if (a, s) in pairs})
    return found


def last_price(account_id: int, symbol: str) -> Decimal | None:
    return last_prices([(account_id, symbol)]).get((account_id, symbol))
