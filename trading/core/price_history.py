"""The thinned price history behind the group chart: which received prices to keep, and for how long.

Pure: no Django, no clock (callers pass `now`). The engine receives prices many times a minute; the
chart needs far fewer. A market (account, symbol) keeps at most one sample per `SAMPLE_EVERY`: a
price is recorded when the market has no sample yet or its latest is at least that old. Samples older
than `KEEP_FOR` are pruned with the events.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

SAMPLE_EVERY = timedelta(seconds=15)
KEEP_FOR = timedelta(days=14)


def samples_due(
    prices: Mapping[K, Decimal],
    latest: Mapping[K, datetime],
    now: datetime,
    every: timedelta = SAMPLE_EVERY,
) -> dict[K, Decimal]:
    """The received prices to record now: markets without a sample, or whose latest sample is at
    least `every` old (a clock that went back records nothing until it passes the latest again)."""
    return {
        market: price
        for market, price in prices.items()
        if market not in latest or now - latest[market] >= every
    }


def prune_before(now: datetime, keep_for: timedelta = KEEP_FOR) -> datetime:
    """Samples taken before this moment are dropped."""
    return now - keep_for
