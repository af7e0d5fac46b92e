"""A per-account order-rate limiter (token bucket), and the limits it runs at.

ccxt's own limiter (`enableRateLimit=True`) spaces requests by request weight; it does not know
that a venue also counts *orders* (Binance: 50 per 10 s on spot, then 429 and 418 bans). The
engine's order scheduler asks this bucket before each send, so a burst of ladder orders drains at
a pace the venue accepts.

Pure: no ccxt, no Django; the clock is injected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from .venues import VenueProfile

Clock = Callable[[], "float | datetime"]

# Windows longer than this (Binance's 160,000 orders per DAY) cap volume, not bursts; a
# bucket sized for them would be either uselessly slow or no limit at all, so they are left out.
_MAX_WINDOW_SEC = 60.0
_INTERVAL_SEC = {"SECOND": 1.0, "MINUTE": 60.0, "HOUR": 3600.0, "DAY": 86400.0}


def _seconds(value: float | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


class OrderRateLimiter:
    """Token bucket: `burst` orders at once, then `rate_per_sec` on average.

    The clock may return seconds (e.g. time.monotonic) or an aware datetime (the engine clock).
    Not thread-safe: one engine thread owns each account's limiter.
    """

    def __init__(self, rate_per_sec: float, burst: float, clock: Clock) -> None:
        if rate_per_sec <= 0 or burst < 1:
            raise ValueError(f"need rate_per_sec > 0 and burst >= 1, got {rate_per_sec}, {burst}")
        self.rate_per_sec = float(rate_per_sec)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._last = _seconds(clock())

    def _refill(self) -> None:
        now = _seconds(self._clock())
        elapsed = max(0.0, now - self._last)  # a clock that steps back never mints tokens
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_sec)
        self._last = now

    def try_acquire(self, cost: float = 1.0) -> bool:
        """Take `cost` tokens if they are there; False (and nothing taken) otherwise."""
        self._refill()
        if self._tokens + 1e-9 >= cost:
            self._tokens = max(0.0, self._tokens - cost)
            return True
        return False

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are available (0 if they are now)."""
        self._refill()
        missing = cost - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate_per_sec

    @property
    def headroom(self) -> float:
        """Orders that could be sent right now (for the connection status page)."""
        self._refill()
        return self._tokens


def bucket_for_windows(windows: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(rate, burst) that never exceeds any (window seconds, max orders) pair.

    Each window's budget is split in half: half as burst, half spread as rate, so
    burst + rate × window ≤ limit. Taking the minimum rate and burst over all windows keeps
    every one of them. Raises ValueError if no usable window is given.
    """
    best: tuple[float, float] | None = None
    for window_sec, limit in windows:
        if window_sec <= 0 or limit <= 0:
            continue
        rate, burst = limit / (2 * window_sec), max(1.0, limit / 2)
        best = (rate, burst) if best is None else (min(best[0], rate), min(best[1], burst))
    if best is None:
        raise ValueError("no usable rate-limit window")
    return best


def default_limits(profile: VenueProfile) -> tuple[float, float]:
    """The venue's documented-or-conservative defaults as (rate, burst)."""
    return bucket_for_windows([(1.0, profile.orders_per_sec), (10.0, profile.orders_per_10s)])


def limits_from_exchange_info(
    raw_exchange_info: Mapping[str, Any] | None, profile: VenueProfile | None = None
) -> tuple[float, float]:
    """(rate, burst) from a Binance-style `exchangeInfo` body's ORDERS `rateLimits`.

    Binance spot states `{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
    "limit": 50}`; windows up to a minute are used. Without any (other venues, or a body
    lacking them) the profile's defaults apply; without a profile, ValueError.
    """
    windows: list[tuple[float, float]] = []
    for entry in (raw_exchange_info or {}).get("rateLimits") or []:
        if not isinstance(entry, Mapping) or entry.get("rateLimitType") != "ORDERS":
            continue
        unit = _INTERVAL_SEC.get(str(entry.get("interval", "")).upper())
        try:
            seconds = unit * float(entry.get("intervalNum", 1)) if unit else 0.0
            limit = float(entry["limit"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 < seconds <= _MAX_WINDOW_SEC:
            windows.append((seconds, limit))
    if windows:
        return bucket_for_windows(windows)
    if profile is None:
        raise ValueError("exchange info states no order-rate limits and no venue profile was given")
    return default_limits(profile)
