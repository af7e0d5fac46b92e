"""Live venues' candles for the group chart: the ccxt adapter's `fetch_candles` returns our Candle
type with Decimals (recorded Binance klines, no network); the engine caches the candles of markets
with open groups (the web never asks a venue), and the chart then draws candles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from exchanges.core.adapter import ExchangeError, TemporaryError
from exchanges.core.candles import Candle
from tests.factories import ApiTokenFactory, ExchangeAccountFactory, PositionGroupFactory
from trading.engine import price_history
from trading.models import CachedCandle

from .ccxt_world import make_world, no_sockets  # noqa: F401 - the offline guard

D = Decimal
OPEN = 1709294400000  # 2024-03-01 12:00 UTC in ms
KLINES = [
    [OPEN, "43000.10", "43100.00", "42950.50", "43050.25", "12.5", OPEN + 299_999, "0", 100, "0", "0", "0"],
    [OPEN + 300_000, "43050.25", "43060.00", "42990.00", "43001.00", "3.25", OPEN + 599_999, "0", 9, "0", "0", "0"],
]  # fmt: skip


@pytest.mark.django_db
def test_fetch_candles_returns_our_candles_with_decimals() -> None:
    world = make_world("binance")
    world.transport.on("GET", "/api/v3/klines", KLINES)
    candles = world.adapter.fetch_candles("BTC/USDT", "5m", 2)
    start = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert candles == [
        Candle(start, D("43000.1"), D("43100"), D("42950.5"), D("43050.25"), D("12.5")),
        Candle(start + timedelta(minutes=5), D("43050.25"), D("43060"), D("42990"), D("43001"), D("3.25")),
    ]
    sent = world.transport.sent("GET", "/api/v3/klines")[-1].query
    assert (sent["symbol"], sent["interval"], sent["limit"]) == ("BTCUSDT", "5m", "2")


@pytest.mark.django_db
def test_fetch_candles_translates_a_venue_error() -> None:
    world = make_world("binance")
    world.adapter.load_markets()
    world.transport.fail_next("GET", "/api/v3/klines", "503")
    with pytest.raises(TemporaryError):
        world.adapter.fetch_candles("BTC/USDT", "5m", 2)


class CandleVenue:
    """A live venue's adapter that records what it was asked and answers fixed candles."""

    def __init__(self, candles: list[Candle], fail: bool = False) -> None:
        self.candles, self.fail, self.asked = candles, fail, []

    def fetch_candles(self, symbol: str, timeframe: str, limit: int) -> list[Candle]:
        self.asked.append((symbol, timeframe, limit))
        if self.fail:
            raise ExchangeError("venue down")
        return self.candles

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def _candle(at: datetime, close: str) -> Candle:
    return Candle(at, D(close), D(close), D(close), D(close), D(1))


def test_engine_caches_the_candles_of_live_markets_with_open_groups(engine, clock) -> None:
    live = ExchangeAccountFactory(label="binance-live", venue="binance")
    group = PositionGroupFactory(account=live, symbol="BTC/USDT", opened_at=clock() - timedelta(hours=1))
    PositionGroupFactory(symbol="ETH/USDT")  # a paper group: no candles asked for
    at = clock().replace(second=0) - timedelta(minutes=10)
    venue = CandleVenue([_candle(at, "43000"), _candle(at + timedelta(minutes=5), "43010")])
    engine.ctx._adapters[live.pk] = venue

    assert price_history.refresh_candles(engine.ctx) == 2
    assert venue.asked == [("BTC/USDT", price_history.CANDLE_TIMEFRAME, price_history.CANDLE_LIMIT)]
    # The forming candle moves on: the next refresh updates it in place, no duplicate.
    venue.candles = [_candle(at + timedelta(minutes=5), "43020")]
    price_history.refresh_candles(engine.ctx)
    assert list(CachedCandle.objects.order_by("opened_at").values_list("close", flat=True)) == [
        D("43000"),
        D("43020"),
    ]

    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    chart = api.get(f"/api/v1/groups/{group.pk}/chart").json()
    assert chart["kind"] == "candles"
    assert [(c["time"], c["close"]) for c in chart["candles"]] == [
        (int(at.timestamp()), "43000"),
        (int(at.timestamp()) + 300, "43020"),
    ]


def test_a_failing_venue_leaves_the_cache_alone_and_is_noted(engine, clock) -> None:
    live = ExchangeAccountFactory(label="binance-live", venue="binance")
    PositionGroupFactory(account=live, symbol="BTC/USDT")
    engine.ctx._adapters[live.pk] = CandleVenue([], fail=True)
    assert price_history.refresh_candles(engine.ctx) == 0
    assert not CachedCandle.objects.exists()
    live.refresh_from_db()
    assert live.last_error == "ExchangeError: venue down"  # shown on the status page


def test_candle_job_refreshes_at_most_every_few_minutes(engine, clock) -> None:
    live = ExchangeAccountFactory(label="binance-live", venue="binance")
    PositionGroupFactory(account=live, symbol="BTC/USDT")
    venue = CandleVenue([])
    engine.ctx._adapters[live.pk] = venue
    job = price_history.CandleRefresher(engine)
    job.step()
    clock.advance(seconds=price_history.CANDLES_EVERY.total_seconds() - 1)
    job.step()
    assert len(venue.asked) == 1
    clock.advance(seconds=1)
    job.step()
    assert len(venue.asked) == 2
