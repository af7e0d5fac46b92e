"""Human-readable Decimals for messages: plain notation, no trailing zeros."""

from __future__ import annotations

from decimal import Decimal


def fmt(value: Decimal | None, places: int | None = None) -> str:
    if value is None:
        return "-"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
