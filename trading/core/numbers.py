"""Human-readable Decimals for messages: plain notation, no trailing zeros."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def fmt(value: Decimal | None, places: int | None = None) -> str:
    if value is None:
        return "-"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def usd(value: Decimal | None) -> str:
    """A USD amount as traders read it: two decimals, kept (12.30, not 12.3 or 12.3049)."""
    if value is None:
        return "-"
    text = format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")
    return text if text != "-0.00" else "0.00"
