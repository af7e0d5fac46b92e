"""The /trades/ page: closed trades with the API's filters (any spelling of a symbol or timeframe),
sortable, paginated, numbers on the market's grid, and a streamed CSV of the filtered list."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dashboard.data import trades as trade_page
from tests.factories import T0, ExchangeAccountFactory, MarketRuleFactory, PositionGroupFactory, TradeFactory
from trading.models import GroupStatus

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

D = Decimal
pytestmark = pytest.mark.django_db


def _trade(account, symbol: str, timeframe: str, side: str, reason: str, pnl: str, at, **kw: Any) -> Any:
    group = PositionGroupFactory(
        account=account,
        symbol=symbol,
        timeframe=timeframe,
        side=side,
        status=GroupStatus.CLOSED,
        opened_at=at - timedelta(hours=2, minutes=5),
    )
    values = {"qty": D("0.5"), "entry_price": D("100"), "exit_price": D("101"), "fees": D("0.1005")}
    values.update(kw)
    return TradeFactory(group=group, reason=reason, realized_pnl=D(pnl), closed_at=at, **values)


@pytest.fixture
def trades() -> dict[str, Any]:
    """Four closes on two accounts over three days (T0 is 1 March 2024, 12:00 UTC)."""
    paper = ExchangeAccountFactory(label="paper")
    other = ExchangeAccountFactory(label="binance-x", venue="binance")
    MarketRuleFactory(account=paper, symbol="BTC/USDT", exchange_symbol="BTCUSDT", tick_size=D("0.1"))
    return {
        "btc": _trade(
            paper, "BTC/USDT", "15m", "long", "tp_leg", "0.3995", T0,
            entry_price=D("43000.04"), exit_price=D("43430.06"), qty=D("0.00046"),
        ),
        "eth": _trade(paper, "ETH/USDT", "1h", "short", "risk", "-4", T0 + timedelta(days=1)),
        "sol": _trade(other, "SOL/USDT", "15m", "long", "tp_group", "3", T0 + timedelta(days=1, hours=1)),
        "btc2": _trade(paper, "BTC/USDT", "1h", "long", "exit", "-1", T0 + timedelta(days=2)),
    }  # fmt: skip


def _shown(client: Client, query: str = "") -> list[int]:
    html = body(client.get(f"/trades/?{query}"))
    return [int(pk) for pk in re.findall(r'data-trade="(\d+)"', html)]


def _ids(trades: dict[str, Any], *names: str) -> list[int]:
    return [trades[name].pk for name in names]


def test_trades_page_lists_every_close_newest_first(admin_client: Client, trades) -> None:
    assert _shown(admin_client) == _ids(trades, "btc2", "sol", "eth", "btc")


def test_trades_filter_reads_symbols_and_timeframes_in_any_spelling(admin_client: Client, trades) -> None:
    assert _shown(admin_client, "symbol=BTCUSDT") == _ids(trades, "btc2", "btc")
    assert _shown(admin_client, "symbol=BTC/USDT") == _shown(admin_client, "symbol=BINANCE:BTCUSDT")
    assert (
        _shown(admin_client, "timeframe=15")
        == _shown(admin_client, "timeframe=15m")
        == _ids(trades, "sol", "btc")
    )


def test_trades_filter_by_account_side_reason_outcome_and_dates(admin_client: Client, trades) -> None:
    assert _shown(admin_client, "account=binance-x") == _ids(trades, "sol")
    assert _shown(admin_client, "side=short") == _ids(trades, "eth")
    assert _shown(admin_client, "reason=tp_group") == _ids(trades, "sol")
    assert _shown(admin_client, "outcome=loss") == _ids(trades, "btc2", "eth")
    # A bare `to` date includes its whole day, as in the API.
    assert _shown(admin_client, "from=2024-03-02&to=2024-03-02") == _ids(trades, "sol", "eth")
    form = body(admin_client.get("/trades/?from=2024-03-02&to=2024-03-02"))
    assert 'name="from" value="2024-03-02"' in form and 'name="to" value="2024-03-02"' in form  # as typed


def test_trades_sort_by_column_in_both_directions(admin_client: Client, trades) -> None:
    assert _shown(admin_client, "sort=pnl&dir=desc") == _ids(trades, "sol", "btc", "btc2", "eth")
    assert _shown(admin_client, "sort=pnl&dir=asc") == _ids(trades, "eth", "btc2", "btc", "sol")
    assert _shown(admin_client, "sort=closed_at&dir=asc") == _ids(trades, "btc", "eth", "sol", "btc2")


def test_trades_bad_filter_is_ignored_and_said_not_an_error(admin_client: Client, trades) -> None:
    response = admin_client.get("/trades/?side=up&timeframe=7x&symbol=BTCUSDT")
    html = body(response)
    assert response.status_code == 200
    assert 'data-testid="filter-problems"' in html and "side:" in html and "timeframe:" in html
    assert [int(pk) for pk in re.findall(r'data-trade="(\d+)"', html)] == _ids(trades, "btc2", "btc")


def test_trades_unknown_account_or_empty_range_shows_nothing_and_says_why(
    admin_client: Client, trades
) -> None:
    html = body(admin_client.get("/trades/?account=nope"))
    assert "unknown account &#x27;nope&#x27;" in html and 'data-trade="' not in html
    html = body(admin_client.get("/trades/?from=2024-03-03&to=2024-03-01"))
    assert "must be before" in html and 'data-trade="' not in html


def test_trades_show_prices_on_the_market_grid_duration_return_and_reason(
    admin_client: Client, trades
) -> None:
    html = body(admin_client.get("/trades/?symbol=BTCUSDT&reason=tp_leg"))
    row = html[html.index(f'data-trade="{trades["btc"].pk}"') :]
    assert ">43000.0<" in row and ">43430.1<" in row  # the market's 0.1 tick
    assert "2 h 05 min" in row  # from the group's first entry to the close
    assert "Leg TP" in row
    # 0.3995 over an entry notional of 0.00046 × 43000.04 = 19.7800184 → +2.02 %
    assert "+2.02 %" in row and "+$0.40" in row


def test_trades_page_is_paginated(admin_client: Client, trades, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trade_page, "PAGE_SIZE", 3)
    assert _shown(admin_client, "page=2") == _ids(trades, "btc")
    assert "page 2 of 2" in body(admin_client.get("/trades/?page=2"))


def test_trades_csv_export_streams_every_filtered_trade_exactly(
    admin_client: Client, trades, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trade_page, "PAGE_SIZE", 1)  # the export is every match, not one page
    response = admin_client.get("/trades/export.csv?symbol=BTCUSDT&sort=pnl&dir=asc")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == _ids(trades, "btc2", "btc")
    assert rows[1]["entry_price"] == "43000.04" and rows[1]["realized_pnl"] == "0.3995"  # exact, unrounded
    assert rows[1]["duration_sec"] == str(2 * 3600 + 5 * 60)


def test_trades_page_needs_a_signed_in_user(client: Client, trades) -> None:
    assert client.get("/trades/").status_code in (302, 403)
    assert client.get("/trades/export.csv").status_code in (302, 403)
