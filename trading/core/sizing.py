"""How big one pyramid is, and how much of it each DCA leg buys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .types import SizeType

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PyramidSize:
    """The size of one pyramid: a base-asset quantity or a quote-currency amount."""

    amount: Decimal
    unit: Literal["base", "quote"]


def pyramid_size(order_size: Decimal | None, size_type: SizeType, default_quote: Decimal) -> PyramidSize:
    """Turn the webhook's order size into a pyramid size, falling back to the configured quote amount."""
    if order_size is None or order_size <= 0:
        return PyramidSize(default_quote, "quote")
    if size_type == SizeType.QUOTE:
        return PyramidSize(order_size, "quote")
    # Spot and linear markets trade one base unit per contract, so contracts count as base.
    return PyramidSize(order_size, "base")


def leg_quantity(size: PyramidSize, weight_percent: Decimal, price: Decimal) -> Decimal:
    """Base quantity of a leg holding `weight_percent` of the pyramid at `price` (not rounded)."""
    share = size.amount * weight_percent / _HUNDRED
    if size.unit == "base":
        return share
    if price <= 0:
        raise ValueError(f"price must be positive to size a quote amount, got {price}")
    return share / price


def size_in_quote(size: PyramidSize, price: Decimal) -> Decimal:
    """The pyramid's worth in quote currency at `price`."""
    return size.amount * price if size.unit == "base" else size.amount
