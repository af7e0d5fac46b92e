"""ccxt's error classes → our short taxonomy, in one place. Only the ccxt adapter uses this.

ccxt already maps each venue's codes and HTTP statuses to its own classes (Binance -2013 →
OrderNotFound, 429 → RateLimitExceeded, 418 → DDoSProtection, 5xx → ExchangeNotAvailable, …);
this module folds those into the handful of outcomes the engine acts on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import ccxt

from .core.adapter import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
    TemporaryError,
)

# Checked in order: subclasses before their bases (ccxt.OrderNotFound is an InvalidOrder, and
# every network error, RateLimitExceeded and DDoSProtection included, an OperationFailed).
_TABLE: tuple[tuple[type[ccxt.BaseError], type[ExchangeError]], ...] = (
    (ccxt.RateLimitExceeded, RateLimited),  # 429, Bybit 10006, OKX 50011, KuCoin 429000, …
    (ccxt.DDoSProtection, RateLimited),  # 418 IP ban, Binance -1003, Cloudflare
    (ccxt.OperationFailed, TemporaryError),  # NetworkError, RequestTimeout, ExchangeNotAvailable,
    # OnMaintenance, InvalidNonce, BadResponse, CancelPending: the request may have done nothing
    (ccxt.AuthenticationError, AuthenticationError),  # incl. PermissionDenied, AccountSuspended
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.OrderNotFound, OrderNotFound),
    (ccxt.InvalidOrder, InvalidOrder),  # incl. DuplicateOrderId, OrderImmediatelyFillable
    (ccxt.BadRequest, InvalidOrder),  # incl. BadSymbol
    (ccxt.MarketClosed, InvalidOrder),
)

_SECRET_PARAMS = re.compile(
    r"((?:signature|sign|apiKey|api_key|passphrase|password|secret)=)[^&\s\"']+", re.IGNORECASE
)


def redact(text: str) -> str:
    """Blank signature/key values that ccxt puts into URLs and messages."""
    return _SECRET_PARAMS.sub(r"\1***", text)


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """The `Retry-After` header in seconds (Binance sends it with 429/418), if numeric."""
    if not headers:
        return None
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            try:
                seconds = float(str(value).strip())
            except ValueError:
                return None  # an HTTP date: the backoff policy decides instead
            return seconds if seconds >= 0 else None
    return None


def translate(
    error: ccxt.BaseError,
    headers: Mapping[str, Any] | None = None,
    not_found_markers: tuple[str, ...] = (),
) -> ExchangeError:
    """Our error for a ccxt error; anything unrecognised is a plain ExchangeError.

    `not_found_markers` are a venue's texts for "no such order" that ccxt does not map
    (VenueProfile.not_found_markers); a generic ccxt error carrying one is OrderNotFound.
    """
    message = redact(f"{type(error).__name__}: {error}")
    if type(error) in (ccxt.ExchangeError, ccxt.BaseError) and any(
        m in str(error) for m in not_found_markers
    ):
        return OrderNotFound(message)
    for ccxt_class, ours in _TABLE:
        if isinstance(error, ccxt_class):
            if ours is RateLimited:
                return RateLimited(message, retry_after_sec=retry_after_seconds(headers))
            return ours(message)
    return ExchangeError(message)


@contextmanager
def translated(exchange: Any, not_found_markers: tuple[str, ...] = ()) -> Iterator[None]:
    """Run ccxt calls; re-raise any ccxt error as ours, with the last response's headers."""
    try:
        yield
    except ccxt.BaseError as error:
        headers = getattr(exchange, "last_response_headers", None)
        headers = headers if isinstance(headers, Mapping) else None
        raise translate(error, headers, not_found_markers) from error
