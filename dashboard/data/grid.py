"""Numbers on the market's grid, for display: prices at the tick, quantities at the step.

The rounding is the engine's own (`trading.core.precision`): a take-profit target rounds the way
its closing order would (a long's sell up, a short's buy down), a quantity floors to the step, and
any other price (average entry, last price, fills) goes to the nearest tick. A market without
cached rules falls back to a precision chosen by the size of the number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from exchanges.models import MarketRule
from trading.core.precision import floor_qty, round_price
from trading.core.types import MarketRules, OrderSide

_FALLBACK_QTY_PLACES = 8


def places_of(grid: Decimal) -> int:
    """Decimal places a grid step shows: 0.01 → 2, 0.5 → 1, 10 → 0."""
    exponent = grid.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fallback_price_places(value: Decimal) -> int:
    """Without market rules: fewer decimals for bigger numbers (43,000.00 · 2.3150 · 0.620000)."""
    size = abs(value)
    if size >= 1000:
        return 2
    if size >= 1:
        return 4
    return 6


def fixed(value: Decimal, places: int) -> str:
    """Exactly `places` decimals, trailing zeros kept (columns line up); never "-0.00"."""
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _nearest(value: Decimal, grid: Decimal) -> Decimal:
    return (value / grid).to_integral_value(rounding=ROUND_HALF_EVEN) * grid


@dataclass(frozen=True)
class Grid:
    """One market's grid and which way its position closes (None: no rules cached)."""

    rules: MarketRules | None = None
    exit_side: OrderSide | None = None

    def price(self, value: Decimal) -> str:
        if self.rules is None or self.rules.tick_size <= 0:
            return fixed(value, fallback_price_places(value))
        return fixed(_nearest(value, self.rules.tick_size), places_of(self.rules.tick_size))

    def target(self, value: Decimal) -> str:
        """A trigger price (TP) as the first tick that reaches it."""
        if self.rules is None or self.rules.tick_size <= 0 or self.exit_side is None:
            return self.price(value)
        return fixed(round_price(value, self.exit_side, self.rules), places_of(self.rules.tick_size))

    def qty(self, value: Decimal) -> str:
        if self.rules is None or self.rules.step_size <= 0:
            return fixed(value, _FALLBACK_QTY_PLACES).rstrip("0").rstrip(".") or "0"
        return fixed(floor_qty(value, self.rules), places_of(self.rules.step_size))


NO_GRID = Grid()


def exit_side(side: str) -> OrderSide:
    """The order side that closes a position of `side` ("long" → sell)."""
    return OrderSide.SELL if side == "long" else OrderSide.BUY


def market_rules(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], MarketRules]:
    """Cached rules by (account id, symbol), in one query; unknown markets are left out."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = MarketRule.objects.filter(
        account_id__in={a for a, _ in pairs}, symbol__in={s for _, s in pairs}
    ).only("account_id", "symbol", "tick_size", "step_size", "min_qty", "min_notional", "max_qty")
    return {(r.account_id, r.symbol): r.to_rules() for r in rows if (r.account_id, r.symbol) in pairs}


def grids_for(items: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str], Grid]:
    """A Grid per (account id, symbol) from (account id, symbol, side) triples."""
    items = list(items)
    rules = market_rules((a, s) for a, s, _ in items)
    return {(a, s): Grid(rules.get((a, s)), exit_side(side)) for a, s, side in items}
