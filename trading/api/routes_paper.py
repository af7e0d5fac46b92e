"""Paper trading: set a last price by hand (tests, demos); the engine matches resting orders."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from exchanges.models import ExchangeAccount, Venue

from .routes_commands import ACCEPTED_OR_404, enqueue
from .schemas import PaperPriceIn, decimal_text

router = Router(tags=["paper"])


@router.post("/paper/prices", response=ACCEPTED_OR_404)
def set_paper_price(request: HttpRequest, payload: PaperPriceIn) -> Status[dict]:
    """Queue a `paper_price` command: the engine puts the price on the tick grid and fills crossing orders."""
    if not ExchangeAccount.objects.filter(label=payload.account, venue=Venue.PAPER).exists():
        raise HttpError(404, f"no paper account {payload.account!r}")
    args = {"symbol": payload.symbol, "price": decimal_text(payload.price), "account": payload.account}
    return enqueue(request, "paper_price", args)
