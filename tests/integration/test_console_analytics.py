"""The /analytics/ page: the API's own figures for the page's filters, chart mounts pointing at the
API with the same filters, CSV of every table, the capital split, the live stamp, and the console's
session reading (never writing) the API the chart island reads."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from dashboard.data.analytics_export import EQUITY_FIELDS, TABLES
from dashboard.data.state import ViewState
from dashboard.panels import render_changes
from exchanges.paper_models import PaperBalance
from tests.factories import T0, ExchangeAccountFactory, PositionGroupFactory, TradeFactory
from trading.models import EquitySnapshot, GroupStatus

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

D = Decimal
pytestmark = pytest.mark.django_db


def _trade(account, symbol: str, timeframe: str, side: str, pnl: str, at) -> Any:
    group = PositionGroupFactory(
        account=account, symbol=symbol, timeframe=timeframe, side=side, status=GroupStatus.CLOSED
    )
    return TradeFactory(
        group=group, reason="tp_leg", qty=D("1"), entry_price=D("100"), exit_price=D("100"),
        realized_pnl=D(pnl), closed_at=at,
    )  # fmt: skip


@pytest.fixture
def closes() -> dict[str, Any]:
    """Four closes on two accounts (T0 is 1 March 2024, 12:00 UTC): BTC +10.5 and -1, ETH -4, SOL +3."""
    paper = ExchangeAccountFactory(label="paper")
    other = ExchangeAccountFactory(label="binance-x", venue="binance")
    return {
        "btc": _trade(paper, "BTC/USDT", "15m", "long", "10.5", T0),
        "eth": _trade(paper, "ETH/USDT", "1h", "short", "-4", T0 + timedelta(days=1)),
        "sol": _trade(other, "SOL/USDT", "15m", "long", "3", T0 + timedelta(days=1, hours=1)),
        "btc2": _trade(paper, "BTC/USDT", "1h", "long", "-1", T0 + timedelta(days=2)),
    }


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _mounts(html: str) -> dict[str, str]:
    return {
        kind: unescape(src) for kind, src in re.findall(r'data-chart="([\w-]+)" data-src="([^"]*)"', html)
    }


def _csv(client: Client, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_analytics_page_shows_the_api_figures_of_every_close(admin_client: Client, closes) -> None:
    html = body(admin_client.get("/analytics/"))
    text = _text(html)
    assert "Realised, selection +$8.50 4 trades" in text  # 10.5 - 4 + 3 - 1
    assert "Win rate 50.00 %" in text
    pairs = re.findall(r'data-testid="by-pair".*?</table>', html, re.S)[0]
    assert re.findall(r'data-key="([^"]+)"', pairs) == ["BTC/USDT", "SOL/USDT", "ETH/USDT"]
    assert 'aria-current="page">Analytics' in html
    assert "{#" not in html and "{%" not in html and "endcomment" not in html  # no template text leaks


def test_filters_narrow_the_tables_and_point_every_chart_at_the_api_with_them(admin_client, closes) -> None:
    html = body(admin_client.get("/analytics/?account=paper&symbol=BTCUSDT&timeframe=15"))
    assert "Realised, selection +$10.50 1 trade" in _text(html)
    pairs = re.findall(r'data-testid="by-pair".*?</table>', html, re.S)[0]
    assert re.findall(r'data-key="([^"]+)"', pairs) == ["BTC/USDT"]
    query = "account=paper&symbol=BTCUSDT&timeframe=15m"  # the API reads every spelling
    assert _mounts(html) == {
        "equity": f"/api/v1/analytics/equity?{query}",
        "daily-pnl": f"/api/v1/analytics/summary?bins=20&{query}",
        "returns": f"/api/v1/analytics/summary?bins=20&{query}",
        "heatmap": f"/api/v1/analytics/summary?bins=20&{query}",
    }


def test_chart_sources_answer_the_console_session_with_the_filtered_figures(admin_client, closes) -> None:
    html = body(admin_client.get("/analytics/?side=short"))
    answer = admin_client.get(_mounts(html)["heatmap"])
    assert answer.status_code == 200
    assert [(c["symbol"], c["net_pnl"]) for c in answer.json()["heatmap"]] == [("ETH/USDT", "-4")]
    equity = admin_client.get(_mounts(html)["equity"]).json()
    assert [p["realised"] for p in equity["points"]] == ["-4"]


def test_the_console_session_may_read_the_api_but_never_write_it(admin_client: Client, closes) -> None:
    assert admin_client.get("/api/v1/analytics/equity").status_code == 200
    assert Client().get("/api/v1/analytics/equity").status_code == 401  # no session, no token
    assert admin_client.post("/api/v1/engine/pause").status_code == 401  # a write still needs a token


def test_a_bad_filter_is_ignored_and_said_and_an_empty_selection_is_explained(admin_client, closes) -> None:
    response = admin_client.get("/analytics/?side=sideways&from=yesterday&symbol=BTCUSDT")
    assert response.status_code == 200
    text = _text(body(response))
    assert "Ignored:" in text and "side" in text and "from" in text
    assert "Realised, selection +$9.50 2 trades" in text  # the valid symbol filter still applies
    unknown = admin_client.get("/analytics/?account=nobody")
    assert unknown.status_code == 200
    assert "unknown account 'nobody'" in _text(body(unknown))


@pytest.mark.parametrize("table", ["equity", *TABLES])
def test_every_table_and_the_equity_series_export_as_csv(admin_client: Client, closes, table: str) -> None:
    response = admin_client.get(f"/analytics/export/{table}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="analytics-{table}-' in response["Content-Disposition"]
    header, *rows = response.content.decode().splitlines()
    fields = EQUITY_FIELDS if table == "equity" else TABLES[table].fields
    assert header == ",".join(fields)
    if table != "allocation":  # four closes and no open group
        assert rows, f"{table}: no rows"


def test_csv_exports_carry_exact_decimals_for_the_page_filters(admin_client: Client, closes) -> None:
    pairs = _csv(admin_client, "/analytics/export/pairs.csv?account=paper")
    assert [(r["key"], r["net_pnl"], r["trades"]) for r in pairs] == [
        ("BTC/USDT", "9.5", "2"),
        ("ETH/USDT", "-4", "1"),
    ]
    best = _csv(admin_client, "/analytics/export/best.csv")
    assert [(r["symbol"], r["realized_pnl"]) for r in best][:2] == [("BTC/USDT", "10.5"), ("SOL/USDT", "3")]
    equity = _csv(admin_client, "/analytics/export/equity.csv?symbol=BTCUSDT")
    assert [r["realised"] for r in equity] == ["10.5", "9.5"]
    assert equity[0]["at"].startswith("2024-03-01T12:00:00")


def test_an_unknown_export_is_a_404_and_exports_need_a_sign_in(admin_client: Client, closes) -> None:
    assert admin_client.get("/analytics/export/secrets.csv").status_code == 404
    assert Client().get("/analytics/export/pairs.csv").status_code == 302
    assert Client().get("/analytics/").status_code == 302


def test_an_operator_sees_the_page_too(operator_client: Client, closes) -> None:
    assert operator_client.get("/analytics/").status_code == 200


def test_capital_split_into_deployed_resting_legs_and_free(
    admin_client: Client, book: dict[str, Any]
) -> None:
    group = book["group"]
    PaperBalance.objects.create(account=group.account, asset="USDT", free=D("9000"))
    deployed = book["legs"][0].filled_qty * book["legs"][0].avg_fill_price
    resting = sum((leg.price * leg.qty for leg in book["legs"][1:]), D(0))
    assert D("399") < resting < D("401")  # the 500 USDT pyramid minus its filled 100 USDT leg
    html = body(admin_client.get("/analytics/"))
    allocation = _text(re.findall(r'data-testid="allocation".*?</table>', html, re.S)[0])
    assert f"BTC/USDT 1 ${deployed:,.2f} ${resting:,.2f} 100.00 %" in allocation
    capital = D("9000") + deployed + resting
    assert re.search(
        r'<meter class="gauge" min="0" max="100" value="[0-9.]+" data-testid="tvl-deployed">', html
    )
    assert f"{deployed / capital * 100:.2f} %" in _text(html)


def test_a_live_venue_shows_no_capital_shares_it_cannot_know(admin_client: Client, book) -> None:
    ExchangeAccountFactory(label="binance-x", venue="binance")
    text = _text(body(admin_client.get("/analytics/")))
    assert "The free balance of a live venue is read by the engine only" in text


def test_the_live_stamp_changes_when_a_trade_closes_or_a_snapshot_is_taken(admin_user, closes) -> None:
    view = ViewState(user=admin_user, params=QueryDict())

    def version() -> str:
        html = render_changes("analytics", view, {"tick"})
        return re.search(r'id="analytics-stamp"[^>]*data-live-version="([^"]+)"', html).group(1)

    before = version()
    _trade(closes["btc"].account, "BTC/USDT", "15m", "long", "1", T0 + timedelta(days=3))
    after_close = version()
    EquitySnapshot.objects.create(account=closes["btc"].account, taken_at=T0, realised=D(1), total=D(1))
    assert len({before, after_close, version()}) == 3


def test_an_htmx_refresh_gets_the_tables_only(admin_client: Client, closes) -> None:
    html = body(admin_client.get("/analytics/?symbol=ETHUSDT", HTTP_HX_REQUEST="true"))
    assert html.lstrip().startswith('<section id="analytics-tables"')
    assert "<html" not in html and "data-chart" not in html
    assert 'hx-trigger="analytics:changed from:body"' in html


def test_the_group_page_mounts_its_price_chart(admin_client: Client, book: dict[str, Any]) -> None:
    html = body(admin_client.get(f"/positions/{book['group'].pk}/"))
    assert f'data-chart="group" data-src="/api/v1/groups/{book["group"].pk}/chart"' in html
    assert "analytics/island.js" in html and 'type="module"' in html
