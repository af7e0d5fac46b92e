"""Retrying exchange calls: exponential backoff with jitter, and idempotent order placement.

A timeout does not mean the order was not placed: the venue may have accepted it and only the
answer was lost. `place_with_retry` therefore looks the order up by its client id before it
sends again, so a retry never places the same order twice.

Pure: sleep and random are injected, nothing here reads a clock or opens a socket.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .core.adapter import (
    ExchangeAdapter,
    InvalidOrder,
    OrderReport,
    OrderRequest,
    RateLimited,
    TemporaryError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]
Random = Callable[[], float]  # uniform in [0, 1)


class RetryBudgetExceeded(TemporaryError):
    """The venue asked for a longer pause than the policy will sleep through."""

    def __init__(self, message: str, retry_after_sec: float | None) -> None:
        super().__init__(message)
        self.retry_after_sec = retry_after_sec


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_sec: float = 0.5
    multiplier: float = 2.0
    max_delay_sec: float = 30.0
    jitter: float = 0.5  # up to +50 % on top of the exponential delay, never below it

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay_sec <= 0 or self.multiplier < 1 or self.jitter < 0:
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, attempt: int, error: Exception, rand: Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        base × multiplier^(attempt-1), capped at max_delay, times (1 + jitter × rand) so that
        many accounts do not retry in lockstep; at least the venue's Retry-After.
        Raises RetryBudgetExceeded when Retry-After is longer than max_delay (an IP ban of
        minutes to days is the engine's business, not a sleep inside one call).
        """
        exponential = min(self.max_delay_sec, self.base_delay_sec * self.multiplier ** (attempt - 1))
        wait = exponential * (1 + self.jitter * rand())
        retry_after = error.retry_after_sec if isinstance(error, RateLimited) else None
        if retry_after is not None:
            if retry_after > self.max_delay_sec:
                raise RetryBudgetExceeded(
                    f"venue asks to wait {retry_after:g} s, more than {self.max_delay_sec:g} s", retry_after
                ) from error
            wait = max(wait, retry_after)
        return wait


DEFAULT_POLICY = RetryPolicy()


def call_with_retry(
    call: Callable[[], T],
    sleep: Sleep,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    rand: Random = random.random,
) -> T:
    """Run an idempotent call (a read, a cancel), retrying TemporaryError with backoff."""
    attempt = 1
    while True:
        try:
            return call()
        except TemporaryError as error:
            if attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, error, rand)
            log.info("retrying after %s (attempt %d, %.2f s)", error, attempt, wait)
            sleep(wait)
            attempt += 1


def place_with_retry(
    adapter: ExchangeAdapter,
    request: OrderRequest,
    sleep: Sleep,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    rand: Random = random.random,
) -> OrderReport:
    """Create an order at most once, however often the network fails.

    After a TemporaryError other than RateLimited the venue may hold the order, so the next
    attempt first fetches it by client id and adopts it if found; only a confirmed "unknown"
    leads to a re-send. A RateLimited refusal (429/418) was rejected before the matching
    engine, so it is re-sent after the backoff without a lookup. If a re-send is refused as
    invalid (e.g. a duplicate client id the lookup had not seen yet), one more lookup decides.
    Non-temporary errors (InvalidOrder, InsufficientFunds, AuthenticationError) propagate.
    """
    must_look_up = False
    resent = False
    attempt = 1
    while True:
        try:
            if must_look_up:
                found = adapter.fetch_order(request.client_order_id, request.symbol)
                if found is not None:
                    log.info("adopting %s found after a failed send", request.client_order_id)
                    return found
                must_look_up = False
                resent = True
            return adapter.create_order(request)
        except InvalidOrder:
            if not resent:
                raise
            found = adapter.fetch_order(request.client_order_id, request.symbol)
            if found is None:
                raise
            return found
        except TemporaryError as error:
            if attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, error, rand)
            if not isinstance(error, RateLimited):
                must_look_up = True
            log.info("order %s: %s; retry %d in %.2f s", request.client_order_id, error, attempt, wait)
            sleep(wait)
            attempt += 1
