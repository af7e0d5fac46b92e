"""Whether an entry may trade at all, decided before anything is written or sent.

Four rules: in paper mode the account must not trade real money, the signal's price must be near
the market (a stale or mistyped price would fill the whole ladder at once), a stop-loss must not
already be crossed, and the account must hold what the pyramid spends (quote for a long; on a spot
account, the coins a short sells). Each returns the reason an entry is refused, or None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .numbers import fmt
from .types import Side

_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def assets_of(symbol: str) -> tuple[str, str]:
    """("BTC", "USDT") from "BTC/USDT" or "BTC/USDT:USDT"."""
    base, _, quote = symbol.split(":", 1)[0].partition("/")
    return base, quote


def mode_problem(mode: str, real_money: bool, account_label: str) -> str | None:
    """In paper mode (`app.mode`) no position opens where real money is at stake.

    Only entries are refused: exits, take-profits and risk closes of positions opened before the
    switch go on, so a switch to paper (or an upgrade that starts reading the setting) never leaves
    a real position unmanaged.
    """
    if mode != "paper" or not real_money:
        return None
    return (
        f"app.mode is paper and account {account_label} trades real money; set app.mode to live to trade it"
    )


def entry_deviation_problem(entry_price: Decimal, live_price: Decimal, max_percent: Decimal) -> str | None:
    """Refuse an entry priced more than `max_percent` away from the live price (0 = no limit)."""
    if max_percent <= 0 or live_price <= 0:
        return None
    deviation = (entry_price - live_price) / live_price * _HUNDRED
    if abs(deviation) <= max_percent:
        return None
    where = "above" if deviation > 0 else "below"
    shown = abs(deviation).quantize(_CENT, rounding=ROUND_HALF_UP)
    return (
        f"entry price {fmt(entry_price)} is {shown}% {where} the live price {fmt(live_price)}"
        f" (grid_strategy.max_entry_deviation_percent {fmt(max_percent)})"
    )


def stop_crossed(side: Side, stop_loss: Decimal, price: Decimal) -> bool:
    """A long's stop is crossed at or below it, a short's at or above it."""
    return price <= stop_loss if side is Side.LONG else price >= stop_loss


def stop_crossed_problem(side: Side, stop_loss: Decimal | None, live_price: Decimal | None) -> str | None:
    if stop_loss is None or live_price is None or not stop_crossed(side, stop_loss, live_price):
        return None
    return f"stop-loss {fmt(stop_loss)} is already crossed at the live price {fmt(live_price)}"


@dataclass(frozen=True)
class Funds:
    """What an account can spend on one entry, in the asset the entry spends."""

    asset: str
    free: Decimal  # the exchange's free balance
    reserved: Decimal  # held for the account's open groups and its orders not yet on the exchange

    @property
    def available(self) -> Decimal:
        return max(self.free - self.reserved, Decimal(0))


def ladder_cost(side: Side, legs: Iterable[tuple[Decimal, Decimal]], fee_percent: Decimal) -> Decimal:
    """What a ladder of (price, qty) orders spends: quote (fees included) for a long, base for a short."""
    legs = list(legs)
    if side is Side.SHORT:
        return sum((qty for _, qty in legs), Decimal(0))
    notional = sum((price * qty for price, qty in legs), Decimal(0))
    return notional * (1 + fee_percent / _HUNDRED)


def funds_problem(side: Side, spot: bool, need: Decimal, funds: Funds, account: str) -> str | None:
    """Refuse an entry the account cannot pay for. A short on a spot account can only sell coins the
    account holds (it cannot borrow); a swap account's margin depends on its leverage, so the venue
    judges that one."""
    if not spot or need <= funds.available:
        return None
    if side is Side.SHORT:
        return (
            f"shorts need a swap/margin account: {account} is a spot account holding"
            f" {fmt(funds.available)} {funds.asset} to sell (besides what its groups and unsent orders hold);"
            f" this short sells {fmt(need)} {funds.asset}"
        )
    return (
        f"not enough {funds.asset} on {account}: the pyramid needs"
        f" {fmt(need.quantize(_CENT, rounding=ROUND_CEILING))} {funds.asset} (fees included),"
        f" {fmt(funds.available)} free"
    )
