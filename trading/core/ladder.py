"""The DCA ladder of one pyramid: leg prices and quantities, checked against the market before sending.

Pre-flight rounds the whole ladder on the market's grid first. A leg too small for the market's
minimum quantity or notional hands its weight to a neighbour (the next deeper active leg, or DCA0
for the deepest one) and the ladder is recomputed, until every remaining leg passes. Only when
DCA0 alone, carrying the whole pyramid, still fails is the pyramid refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .precision import floor_qty, order_violations, round_price
from .sizing import PyramidSize, leg_quantity, size_in_quote
from .types import DcaLevel, MarketRules, Side

_HUNDRED = Decimal(100)
_MINIMUM_CODES = frozenset({"min_qty", "min_notional"})


@dataclass(frozen=True)
class PlannedLeg:
    """One DCA leg as it will be sent; a skipped leg gave its weight to `merged_into`."""

    index: int
    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal
    price: Decimal  # limit price, rounded on the tick for the entry side
    qty: Decimal  # floored to the step
    skipped: bool = False
    merged_into: int | None = None


@dataclass(frozen=True)
class LadderPlan:
    side: Side
    base_price: Decimal
    legs: tuple[PlannedLeg, ...]
    adjustments: tuple[str, ...] = ()
    error: str | None = None  # set when the pyramid is refused; nothing may be sent

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def active_legs(self) -> tuple[PlannedLeg, ...]:
        """The legs to send: none when the plan is refused."""
        if self.error is not None:
            return ()
        return tuple(leg for leg in self.legs if not leg.skipped)

    @property
    def total_qty(self) -> Decimal:
        return sum((leg.qty for leg in self.active_legs), Decimal(0))


def validate_levels(levels: Sequence[DcaLevel], max_levels: int) -> list[str]:
    """Every problem with a configured DCA ladder, as messages for the settings form."""
    if not levels:
        return ["at least one DCA level is required"]
    errors: list[str] = []
    if len(levels) > max_levels:
        errors.append(f"{len(levels)} DCA levels configured, at most {max_levels} allowed")
    total = sum((level.weight_percent for level in levels), Decimal(0))
    if total != _HUNDRED:
        errors.append(f"weights sum to {_fmt(total)}, they must sum to exactly 100")
    if levels[0].gap_percent != 0:
        errors.append(f"DCA0: gap must be 0 (DCA0 enters at the signal price), got {levels[0].gap_percent}")
    for i, level in enumerate(levels):
        if level.weight_percent <= 0:
            errors.append(f"DCA{i}: weight must be above 0, got {level.weight_percent}")
        if level.gap_percent > 0:
            errors.append(f"DCA{i}: gap must be 0 or negative, got {level.gap_percent}")
        elif level.gap_percent <= -_HUNDRED:
            # A gap of -100% or deeper puts a long's price at or below zero.
            errors.append(f"DCA{i}: gap must be above -100, got {level.gap_percent}")
        if i > 0 and level.gap_percent > levels[i - 1].gap_percent:
            errors.append(
                f"DCA{i}: gap {level.gap_percent} must be at or below DCA{i - 1}'s gap "
                f"{levels[i - 1].gap_percent}"
            )
        if level.tp_percent <= 0:
            errors.append(f"DCA{i}: take-profit must be above 0, got {level.tp_percent}")
    return errors


def leg_price(side: Side, base_price: Decimal, gap_percent: Decimal, rules: MarketRules) -> Decimal:
    """A leg's limit price: below the base for a long, mirrored above it for a short."""
    offset = gap_percent / _HUNDRED
    raw = base_price * (1 + offset) if side is Side.LONG else base_price * (1 - offset)
    return round_price(raw, side.entry_order_side, rules)


def build_ladder(
    side: Side,
    base_price: Decimal,
    size: PyramidSize,
    levels: Sequence[DcaLevel],
    rules: MarketRules,
) -> LadderPlan:
    """Plan every leg of one pyramid, merging legs the market would reject (see module docstring)."""
    problems = validate_levels(levels, max_levels=len(levels))
    if base_price <= 0:
        problems.insert(0, f"base price must be above 0, got {base_price}")
    if size.amount <= 0:
        problems.insert(0, f"pyramid size must be above 0, got {size.amount}")
    if problems:
        return LadderPlan(side, base_price, (), (), "; ".join(problems))

    prices = [leg_price(side, base_price, level.gap_percent, rules) for level in levels]
    for i, price in enumerate(prices):
        if price <= 0:
            return LadderPlan(side, base_price, (), (), f"DCA{i}: price rounds to {_fmt(price)} on the tick")

    weights = [level.weight_percent for level in levels]
    merged_into: list[int | None] = [None] * len(levels)
    qtys = [Decimal(0)] * len(levels)
    adjustments: list[str] = []
    error: str | None = None
    while True:
        active = [i for i in range(len(levels)) if merged_into[i] is None]
        for i in active:
            qtys[i] = _leg_qty(size, weights[i], prices[i], rules)
        failing = [(i, why) for i in active if (why := _below_minimum(prices[i], qtys[i], rules))]
        if not failing:
            break
        if active == [0]:
            error = _refusal(size, prices[0], qtys[0], rules)
            break
        deeper = [(i, why) for i, why in failing if i != 0]
        if deeper:
            donor, why = deeper[0]  # shallowest first, so weight flows down the ladder
            receiver = next((j for j in active if j > donor), 0)
            adjustments.append(f"DCA{donor} merged into DCA{receiver}: {why}")
        else:
            # Only DCA0 is short: it cannot be dropped (it is the entry), so it takes the deepest leg.
            donor, receiver = active[-1], 0
            adjustments.append(f"DCA{donor} merged into DCA0: DCA0 {failing[0][1]}")
        weights[receiver] += weights[donor]
        weights[donor] = Decimal(0)
        qtys[donor] = Decimal(0)
        merged_into[donor] = receiver

    if error is None:
        error = _other_violations(prices, qtys, merged_into, rules)
    legs = tuple(
        PlannedLeg(
            index=i,
            gap_percent=level.gap_percent,
            weight_percent=weights[i],
            tp_percent=level.tp_percent,
            price=prices[i],
            qty=qtys[i],
            skipped=merged_into[i] is not None,
            merged_into=_final_holder(merged_into, i),
        )
        for i, level in enumerate(levels)
    )
    return LadderPlan(side, base_price, legs, tuple(adjustments), error)


def dca0_guard_price(
    side: Side, base_price: Decimal, max_slippage_percent: Decimal, rules: MarketRules
) -> Decimal:
    """The marketable limit price for DCA0: fills at once, never worse than the slippage allowance."""
    if max_slippage_percent < 0:
        raise ValueError(f"max slippage must be 0 or more, got {max_slippage_percent}")
    slip = max_slippage_percent / _HUNDRED
    raw = base_price * (1 + slip) if side is Side.LONG else base_price * (1 - slip)
    if raw <= 0:
        raise ValueError(f"slippage {max_slippage_percent}% leaves no positive guard price for a short")
    return round_price(raw, side.entry_order_side, rules)


def _leg_qty(size: PyramidSize, weight: Decimal, price: Decimal, rules: MarketRules) -> Decimal:
    qty = floor_qty(leg_quantity(size, weight, price), rules)
    # The division runs at the context's precision and could round up onto a step boundary;
    # never let a leg spend more than its share of a quote budget.
    budget = size.amount * weight / _HUNDRED
    if size.unit == "quote" and qty * price > budget and rules.step_size > 0:
        qty = max(qty - rules.step_size, Decimal(0))
    return qty


def _below_minimum(price: Decimal, qty: Decimal, rules: MarketRules) -> str | None:
    codes = {v.code for v in order_violations(price, qty, rules)} & _MINIMUM_CODES
    if "min_qty" in codes:
        return f"quantity {_fmt(qty)} below minimum {_fmt(rules.min_qty)}"
    if "min_notional" in codes:
        return f"notional {_fmt(price * qty)} below minimum {_fmt(rules.min_notional)}"
    return None


def _refusal(size: PyramidSize, price: Decimal, qty: Decimal, rules: MarketRules) -> str:
    base, quote = _currencies(rules.symbol)
    if qty <= 0:
        unit = base if size.unit == "base" else quote
        return f"pyramid size {_fmt(size.amount)} {unit} rounds to quantity 0 on step {_fmt(rules.step_size)}"
    if qty < rules.min_qty:
        return f"pyramid quantity {_fmt(qty)} {base} is below the market minimum {_fmt(rules.min_qty)} {base}"
    worth = size_in_quote(size, price)
    text = (
        f"pyramid size {_fmt(worth)} {quote} is below the market minimum {_fmt(rules.min_notional)} {quote}"
    )
    if worth >= rules.min_notional:
        text += f" once rounded ({_fmt(qty)} {base} at {_fmt(price)} = {_fmt(qty * price)} {quote})"
    return text


def _other_violations(
    prices: list[Decimal], qtys: list[Decimal], merged_into: list[int | None], rules: MarketRules
) -> str | None:
    """Filters merging cannot fix (a maximum quantity, an off-grid value) refuse the pyramid."""
    messages = [
        f"DCA{i}: {v.message}"
        for i in range(len(prices))
        if merged_into[i] is None
        for v in order_violations(prices[i], qtys[i], rules)
    ]
    return "; ".join(messages) or None


def _final_holder(merged_into: list[int | None], i: int) -> int | None:
    """Follow a chain of merges to the active leg that carries the weight now."""
    holder = merged_into[i]
    while holder is not None and merged_into[holder] is not None:
        holder = merged_into[holder]
    return holder


def _currencies(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    return (base or "base"), (quote.partition(":")[0] or "quote")


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")
