"""`?symbol=` and `?timeframe=` read the way the webhook reads them, on every API list and console filter.

A trader types what TradingView shows (BTCUSDT, BINANCE:BTCUSDT, BTCUSDT.P, 15, 60, 1D) or what the
engine shows (BTC/USDT, 15m, 1h): both find the same rows. A value that is no symbol or timeframe
is a 422 naming the parameter (API) or a message over the table (console), never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from exchanges.models import ExchangeAccount, MarketType, Venue
from tests.factories import (
    ApiTokenFactory,
    EventFactory,
    MarketRuleFactory,
    PositionGroupFactory,
    QueueEntryFactory,
    SignalFactory,
    TradeFactory,
)

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/groups", "/api/v1/queue", "/api/v1/signals", "/api/v1/trades", "/api/v1/events"]
BTC_SPELLINGS = ["BTCUSDT", "BTC/USDT", "btc-usdt", "BTC_USDT", "BINANCE:BTCUSDT", "BTCUSDT.P", "btcusdt"]
TIMEFRAMES = {"15m": ["15", "15m"], "1h": ["60", "1h", "1H", "60m"], "1d": ["1D", "D", "1d", "1440"]}


@pytest.fixture
def api() -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}", raise_request_exception=False
    )


@pytest.fixture
def markets(db: Any) -> dict[str, Any]:
    """One row of every kind per market: BTC/USDT 15m, ETH/USDT 1h, SOL/USDT 1d (as the webhook stores them)."""
    rows: dict[str, Any] = {}
    for symbol, raw, timeframe in [
        ("BTC/USDT", "BINANCE:BTCUSDT", "15m"),
        ("ETH/USDT", "ETHUSDT", "1h"),
        ("SOL/USDT", "SOLUSDT.P", "1d"),
    ]:
        group = PositionGroupFactory(symbol=symbol, timeframe=timeframe)
        signal = SignalFactory(symbol=symbol, raw_symbol=raw, timeframe=timeframe, status="queued")
        rows[symbol] = {
            "group": group.pk,
            "trade": TradeFactory(group=group).pk,
            "event": EventFactory(symbol=symbol, timeframe=timeframe).pk,
            "signal": signal.pk,
            "queue": QueueEntryFactory(signal=signal).pk,
        }
    return rows


def ids(api: Client, path: str, query: str) -> set[int]:
    response = api.get(f"{path}?{query}")
    assert response.status_code == 200, (path, query, response.content)
    return {item["id"] for item in response.json()["items"]}


def expected(markets: dict[str, Any], path: str, *symbols: str) -> set[int]:
    kind = {"groups": "group", "queue": "queue", "signals": "signal", "trades": "trade", "events": "event"}
    return {markets[s][kind[path.rsplit("/", 1)[1]]] for s in symbols}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("spelling", BTC_SPELLINGS)
def test_symbol_filter_accepts_every_spelling_on_every_list(
    api: Client, markets: dict[str, Any], path: str, spelling: str
) -> None:
    assert ids(api, path, f"symbol={spelling.replace('/', '%2F')}") == expected(markets, path, "BTC/USDT")


@pytest.mark.parametrize("path", LISTS)
def test_timeframe_filter_reads_tradingview_intervals_on_every_list(
    api: Client, markets: dict[str, Any], path: str
) -> None:
    symbol_of = {"15m": "BTC/USDT", "1h": "ETH/USDT", "1d": "SOL/USDT"}
    for stored, spellings in TIMEFRAMES.items():
        for spelling in spellings:
            assert ids(api, path, f"timeframe={spelling}") == expected(markets, path, symbol_of[stored]), (
                spelling
            )
    assert ids(api, path, "symbol=ETHUSDT&timeframe=15") == set()  # both filters apply
    everything = expected(markets, path, "BTC/USDT", "ETH/USDT", "SOL/USDT")
    assert ids(api, path, "symbol=&timeframe=") >= everything  # an empty form field filters nothing


def test_symbol_filter_finds_a_market_by_the_venues_own_id(api: Client) -> None:
    okx = ExchangeAccount.objects.create(label="okx-perp", venue=Venue.OKX, market_type=MarketType.SWAP)
    MarketRuleFactory(account=okx, symbol="BTC/USDT:USDT", exchange_symbol="BTC-USDT-SWAP")
    perp = PositionGroupFactory(account=okx, symbol="BTC/USDT:USDT", timeframe="15m")
    spot = PositionGroupFactory(symbol="BTC/USDT", timeframe="15m")

    assert ids(api, "/api/v1/groups", "symbol=BTC-USDT-SWAP") == {perp.pk}
    assert ids(api, "/api/v1/groups", "symbol=BTC%2FUSDT%3AUSDT") == {perp.pk}
    assert ids(api, "/api/v1/groups", "symbol=BTCUSDT.P") == {spot.pk, perp.pk}  # TradingView's perpetual
    assert ids(api, "/api/v1/groups", "symbol=BTCUSDT") == {spot.pk}


def test_a_signal_whose_symbol_could_not_be_read_is_found_by_its_ticker(api: Client) -> None:
    unread = SignalFactory(
        symbol="", raw_symbol="XYZ", status="rejected", reason="rejected: cannot read symbol XYZ"
    )
    assert ids(api, "/api/v1/signals", "symbol=xyz") == {unread.pk}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("symbol=BTC%24USDT", "symbol"),
        ("symbol=" + "A" * 41, "symbol"),
        ("timeframe=15min", "timeframe"),
        ("timeframe=0", "timeframe"),
        ("timeframe=1X", "timeframe"),
    ],
)
def test_a_bad_symbol_or_timeframe_is_422_naming_the_parameter(
    api: Client, path: str, query: str, parameter: str
) -> None:
    response = api.get(f"{path}?{query}")
    assert response.status_code == 422, response.content
    error = response.json()["detail"][0]
    assert error["loc"][-1] == parameter
    assert ("timeframe" if parameter == "timeframe" else "symbol") in error["msg"]


# --- console -------------------------------------------------------------------------------------


def group_ids(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-testid="group-row" data-group="(\d+)"', html)}


@pytest.mark.parametrize("spelling", BTC_SPELLINGS)
def test_console_position_filter_accepts_every_symbol_spelling(
    admin_client: Client, markets: dict[str, Any], spelling: str
) -> None:
    html = body(admin_client.get("/positions/", {"q": spelling}))
    assert group_ids(html) == {markets["BTC/USDT"]["group"]}


def test_console_position_filter_still_finds_part_of_a_pair(
    admin_client: Client, markets: dict[str, Any]
) -> None:
    assert group_ids(body(admin_client.get("/positions/", {"q": "eth"}))) == {markets["ETH/USDT"]["group"]}


@pytest.mark.parametrize(("stored", "spellings"), list(TIMEFRAMES.items()))
def test_console_timeframe_filters_read_tradingview_intervals(
    admin_client: Client, markets: dict[str, Any], stored: str, spellings: list[str]
) -> None:
    symbol = {"15m": "BTC/USDT", "1h": "ETH/USDT", "1d": "SOL/USDT"}[stored]
    for spelling in spellings:
        html = body(admin_client.get("/positions/", {"timeframe": spelling}))
        assert group_ids(html) == {markets[symbol]["group"]}, spelling
        logs = body(admin_client.get("/logs/export.json", {"timeframe": spelling}))
        assert {row["id"] for row in json.loads(logs)} == {markets[symbol]["event"]}, spelling


@pytest.mark.parametrize("spelling", BTC_SPELLINGS)
def test_console_log_symbol_filter_accepts_every_spelling(
    admin_client: Client, markets: dict[str, Any], spelling: str
) -> None:
    rows = json.loads(body(admin_client.get("/logs/export.json", {"symbol": spelling})))
    assert {row["id"] for row in rows} == {markets["BTC/USDT"]["event"]}


def test_console_bad_timeframe_says_so_and_filters_nothing(
    admin_client: Client, markets: dict[str, Any]
) -> None:
    response = admin_client.get("/positions/", {"timeframe": "15min"})
    assert response.status_code == 200
    html = body(response)
    assert "unrecognised timeframe" in html
    assert group_ids(html) == {m["group"] for m in markets.values()}
    logs = admin_client.get("/logs/", {"timeframe": "1X"})
    assert logs.status_code == 200 and "unrecognised timeframe" in body(logs)
