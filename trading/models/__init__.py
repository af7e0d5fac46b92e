"""Trading state. Only the engine loop writes groups, pyramids, legs, orders and trades;
the web process writes only the inbox (`Signal`) and the command table (`Command`)."""

from .analytics import EquitySnapshot
from .engine import ApiToken, ConfigDocument, EngineLease, EngineState
from .events import Event
from .groups import DcaLeg, GroupStatus, LegState, PositionGroup, Pyramid
from .inbox import Command, CommandStatus, QueueEntry, Signal, SignalStatus
from .orders import Order, OrderState, Trade
from .prices import CachedCandle, PriceSample

__all__ = [
    "ApiToken",
    "CachedCandle",
    "Command",
    "CommandStatus",
    "ConfigDocument",
    "DcaLeg",
    "EngineLease",
    "EngineState",
    "EquitySnapshot",
    "Event",
    "GroupStatus",
    "LegState",
    "Order",
    "OrderState",
    "PositionGroup",
    "PriceSample",
    "Pyramid",
    "QueueEntry",
    "Signal",
    "SignalStatus",
    "Trade",
]
