"""Shared value types of the pure trading core."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Side(enum.StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def entry_order_side(self) -> OrderSide:
        return OrderSide.BUY if self is Side.LONG else OrderSide.SELL

    @property
    def exit_order_side(self) -> OrderSide:
        return OrderSide.SELL if self is Side.LONG else OrderSide.BUY

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG


class OrderSide(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class TpMode(enum.StrEnum):
    LEG = "leg"
    AGGREGATE = "aggregate"
    HYBRID = "hybrid"


class Intent(enum.StrEnum):
    """What a webhook asks for (TradingView `execution_intent.type`)."""

    SIGNAL = "signal"  # an entry: open a group or add a pyramid
    EXIT = "exit"
    REDUCE = "reduce"
    REVERSE = "reverse"


class SizeType(enum.StrEnum):
    CONTRACTS = "contracts"
    BASE = "base"
    QUOTE = "quote"


@dataclass(frozen=True)
class DcaLevel:
    """One rung of the configured DCA ladder, in percent."""

    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal


@dataclass(frozen=True)
class MarketRules:
    """An exchange's trading filters for one market, normalised to tick/step Decimals.

    `min_notional` and `min_qty` are 0 where the exchange states none.
    """

    symbol: str  # unified, e.g. "BTC/USDT"
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_qty: Decimal | None = None
