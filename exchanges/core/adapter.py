"""The one small contract every venue implements: the paper exchange today, ccxt venues next.

Adapters return our own types, never raw exchange dicts, and translate every venue error
into the short taxonomy below, so the engine handles failures in one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from trading.core.types import MarketRules, OrderSide


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(enum.StrEnum):
    OPEN = "open"  # accepted, resting (possibly partially filled)
    FILLED = "filled"
    CANCELLED = "cancelled"  # cancelled, possibly after a partial fill
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str  # unified, e.g. "BTC/USDT"
    side: OrderSide
    type: OrderType
    qty: Decimal
    price: Decimal | None = None  # required for LIMIT
    reduce_only: bool = False


@dataclass(frozen=True)
class OrderReport:
    """What the exchange says about one order. `filled_qty` is cumulative."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    qty: Decimal
    price: Decimal | None
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    fee_quote: Decimal  # cumulative fee, in the quote currency
    updated_at: datetime

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_done(self) -> bool:
        return self.status is not OrderStatus.OPEN


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True)
class MarketCatalog:
    """Markets of one venue: unified symbol → rules, and the venue's own spelling → unified."""

    rules: dict[str, MarketRules]
    by_exchange_symbol: dict[str, str] = field(default_factory=dict)

    def resolve(self, raw_symbol: str) -> str | None:
        """Map "BTCUSDT", "BTC/USDT" or "btc-usdt" to the unified symbol, or None if unknown."""
        text = raw_symbol.strip().upper()
        if text in self.rules:
            return text
        if text in self.by_exchange_symbol:
            return self.by_exchange_symbol[text]
        compact = text.replace("/", "").replace("-", "").replace("_", "")
        return self.by_exchange_symbol.get(compact)

    def require(self, symbol: str, venue: str) -> MarketRules:
        """The rules of an active market, or InvalidOrder saying why there are none."""
        rules = self.rules.get(symbol)
        if rules is not None:
            return rules
        if symbol in self.by_exchange_symbol.values():
            raise InvalidOrder(f"{symbol} is not trading on {venue} (inactive market)")
        raise InvalidOrder(f"unknown symbol {symbol!r} on {venue}")


# ---- error taxonomy: only adapters catch venue errors; the engine sees these ----------------


class ExchangeError(Exception):
    """Base of every adapter error."""


class TemporaryError(ExchangeError):
    """Network, timeout, 5xx, maintenance: safe to retry after looking the order up by client id."""


class RateLimited(TemporaryError):
    """429/418: back off before the next request."""

    def __init__(self, message: str, retry_after_sec: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_sec = retry_after_sec


class InvalidOrder(ExchangeError):
    """The exchange refused the order as malformed (precision, filters, unknown symbol)."""


class InsufficientFunds(ExchangeError):
    """Not enough balance: stop new entries on this account."""


class AuthenticationError(ExchangeError):
    """Bad or expired keys: stop new entries on this account."""


class OrderNotFound(ExchangeError):
    """The exchange does not know this order."""


@runtime_checkable
class ExchangeAdapter(Protocol):
    """About ten methods, not a hundred. Every method may raise an ExchangeError subclass."""

    venue: str  # "paper", "binance", ...

    def load_markets(self) -> MarketCatalog: ...

    def create_order(self, request: OrderRequest) -> OrderReport: ...

    def cancel_order(self, client_order_id: str, symbol: str) -> OrderReport: ...

    def fetch_order(self, client_order_id: str, symbol: str) -> OrderReport | None:
        """The order by our client id, or None if the exchange has never seen it."""
        ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    def fetch_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """Last price per unified symbol; symbols without a price are left out."""
        ...

    def fetch_balance(self) -> dict[str, Balance]: ...

    def hint_price(self, symbol: str, price: Decimal) -> None:
        """A reference price seen in a signal. The paper exchange seeds an unknown symbol's
        price from it; real venues ignore it (their own market data is the truth)."""
        ...
