"""Candles as the exchange contract returns them: our type, Decimal prices, aware UTC times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Candle:
    opened_at: datetime  # aware UTC, the candle's open
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base currency
