"""Rounding on an exchange's grid, and the filter checks every order passes before it is sent.

Direction is explicit and never worse than intended for the trader: a buy price rounds down
(pay no more), a sell price rounds up (receive no less), a quantity always floors to the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .types import MarketRules, OrderSide


def _to_grid(value: Decimal, grid: Decimal, rounding: str) -> Decimal:
    if grid <= 0:
        return value
    units = (value / grid).to_integral_value(rounding=rounding)
    return (units * grid).normalize() if units else Decimal(0)


def round_price(price: Decimal, side: OrderSide, rules: MarketRules) -> Decimal:
    """Round a limit price to the tick: buys down, sells up."""
    rounding = ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING
    return _to_grid(price, rules.tick_size, rounding)


def floor_qty(qty: Decimal, rules: MarketRules) -> Decimal:
    """Floor a quantity to the step size (never order more than was sized)."""
    return _to_grid(qty, rules.step_size, ROUND_FLOOR)


@dataclass(frozen=True)
class Violation:
    code: str  # "tick" | "step" | "min_qty" | "min_notional" | "max_qty"
    message: str


def order_violations(price: Decimal, qty: Decimal, rules: MarketRules) -> list[Violation]:
    """Every filter an order breaks, as Binance's PRICE_FILTER / LOT_SIZE / NOTIONAL would judge it."""
    found: list[Violation] = []
    if rules.tick_size > 0 and price % rules.tick_size != 0:
        found.append(Violation("tick", f"price {price} is not a multiple of tick {rules.tick_size}"))
    if rules.step_size > 0 and qty % rules.step_size != 0:
        found.append(Violation("step", f"quantity {qty} is not a multiple of step {rules.step_size}"))
    if qty <= 0 or qty < rules.min_qty:
        found.append(Violation("min_qty", f"quantity {qty} is below the minimum {rules.min_qty}"))
    if rules.max_qty is not None and qty > rules.max_qty:
        found.append(Violation("max_qty", f"quantity {qty} is above the maximum {rules.max_qty}"))
    notional = price * qty
    if notional < rules.min_notional:
        found.append(
            Violation(
                "min_notional", f"notional {notional.normalize()} is below the minimum {rules.min_notional}"
            )
        )
    return found


def fits(price: Decimal, qty: Decimal, rules: MarketRules) -> bool:
    return not order_violations(price, qty, rules)
