"""The replay's candle download: paging, what a cache still lacks, and never caching an open candle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from exchanges.core.candles import Candle
from trading.replay.fetch import closed_only, fetch_range, gaps_to_fetch, merged

D = Decimal
T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def candle(n: int, close: str = "100") -> Candle:
    return Candle(T0 + n * HOUR, D(close), D(close), D(close), D(close), D("1"))


class Venue:
    """Answers at most `page` candles from `since` out of 0..`count`-1, and records each request."""

    def __init__(self, count: int, page: int) -> None:
        self.count, self.page, self.asked = count, page, []

    def __call__(self, symbol: str, timeframe: str, limit: int, since: datetime) -> list[Candle]:
        self.asked.append(since)
        first = max(0, int((since - T0) / HOUR))
        return [candle(n) for n in range(first, min(self.count, first + min(limit, self.page)))]


def test_fetch_range_pages_through_a_venue_that_answers_fewer_than_asked():
    venue = Venue(count=250, page=100)
    got = fetch_range(venue, "BTC/USDT", "1h", T0, T0 + 249 * HOUR)
    assert [c.opened_at for c in got] == [T0 + n * HOUR for n in range(250)]
    assert venue.asked == [T0, T0 + 100 * HOUR, T0 + 200 * HOUR]


def test_fetch_range_stops_at_the_end_and_when_the_venue_has_nothing_more():
    venue = Venue(count=30, page=100)
    assert len(fetch_range(venue, "BTC/USDT", "1h", T0, T0 + 9 * HOUR)) == 10
    assert len(fetch_range(venue, "BTC/USDT", "1h", T0, T0 + 500 * HOUR)) == 30


def test_a_candle_still_open_is_never_kept():
    candles = [candle(0), candle(1), candle(2)]
    assert closed_only(candles, "1h", T0 + 2 * HOUR + timedelta(minutes=59)) == candles[:2]
    assert closed_only(candles, "1h", T0 + 3 * HOUR) == candles


def test_only_what_the_cache_lacks_is_fetched():
    rows = merged([], [candle(n) for n in range(10, 20)])
    assert gaps_to_fetch(rows, T0 + 12 * HOUR, T0 + 15 * HOUR, HOUR) == []
    assert gaps_to_fetch(rows, T0, T0 + 25 * HOUR, HOUR) == [
        (T0, T0 + 9 * HOUR),
        (T0 + 20 * HOUR, T0 + 25 * HOUR),
    ]
    assert gaps_to_fetch([], T0, T0 + HOUR, HOUR) == [(T0, T0 + HOUR)]


def test_merged_rows_are_in_time_order_and_a_refetched_candle_replaces_the_old_one():
    rows = merged(merged([], [candle(2, "100"), candle(0, "100")]), [candle(1), candle(2, "101")])
    assert [row[0] for row in rows] == [int((T0 + n * HOUR).timestamp() * 1000) for n in range(3)]
    assert rows[2][4] == D("101")
