"""The analytics API and the trade list's filters and sorting: numbers as decimal strings, every
spelling of a symbol or timeframe the webhook reads, and a 422 (never a 500) for a bad filter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    T0,
    ApiTokenFactory,
    ExchangeAccountFactory,
    PositionGroupFactory,
    TradeFactory,
    reset_config,
)
from trading.models import EquitySnapshot, GroupStatus

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    reset_config()
    token = ApiTokenFactory(readonly=True).plain
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)


def _trade(account, symbol: str, timeframe: str, side: str, reason: str, pnl: str, at) -> Any:
    group = PositionGroupFactory(
        account=account, symbol=symbol, timeframe=timeframe, side=side, status=GroupStatus.CLOSED
    )
    return TradeFactory(
        group=group,
        reason=reason,
        qty=D("1"),
        entry_price=D("100"),
        exit_price=D("100"),
        realized_pnl=D(pnl),
        closed_at=at,
    )


@pytest.fixture
def book() -> dict[str, Any]:
    """Five trades on two accounts over three days (T0 is 1 March 2024, 12:00 UTC)."""
    paper = ExchangeAccountFactory(label="paper")
    other = ExchangeAccountFactory(label="binance-x", venue="binance")
    return {
        "t1": _trade(paper, "BTC/USDT", "15m", "long", "tp_leg", "10", T0),
        "t2": _trade(paper, "ETH/USDT", "1h", "short", "exit", "-4", T0 + timedelta(days=1)),
        "t3": _trade(paper, "BTC/USDT", "1h", "long", "risk", "2", T0 + timedelta(days=2)),
        "t4": _trade(paper, "BTC/USDT", "15m", "long", "tp_group", "-1", T0 + timedelta(days=2, hours=1)),
        "t5": _trade(other, "SOL/USDT", "15m", "long", "tp_leg", "3", T0 + timedelta(days=1, hours=1)),
        "paper": paper,
        "other": other,
    }


def ids(api: Client, query: str, book: dict[str, Any]) -> list[str]:
    response = api.get(f"/api/v1/trades?{query}")
    assert response.status_code == 200, response.content
    names = {book[k].pk: k for k in ("t1", "t2", "t3", "t4", "t5")}
    return [names[item["id"]] for item in response.json()["items"]]


def test_trades_filter_by_symbol_in_any_spelling_timeframe_side_reason_and_outcome(api, book):
    assert ids(api, "symbol=BTCUSDT", book) == ["t4", "t3", "t1"]
    assert ids(api, "symbol=BTC/USDT", book) == ids(api, "symbol=BINANCE:BTCUSDT", book)
    assert ids(api, "timeframe=15", book) == ids(api, "timeframe=15m", book) == ["t4", "t5", "t1"]
    assert ids(api, "timeframe=60&symbol=BTC-USDT", book) == ["t3"]
    assert ids(api, "side=short", book) == ["t2"]
    assert ids(api, "reason=risk", book) == ["t3"]
    assert ids(api, "outcome=win", book) == ["t3", "t5", "t1"]
    assert ids(api, "outcome=loss", book) == ["t4", "t2"]
    assert ids(api, "account=binance-x", book) == ["t5"]


def test_trades_filter_by_date_range(api, book):
    # A bare `to` date includes its whole day; a datetime `to` is exclusive.
    assert ids(api, "from=2024-03-02&to=2024-03-02", book) == ["t5", "t2"]
    assert ids(api, "from=2024-03-02T12:00:00Z&to=2024-03-02T13:00:00", book) == ["t2"]
    assert ids(api, "from=2024-03-03T12:30:00%2B00:00", book) == ["t4"]


def test_trades_sort_by_pnl_and_keep_the_list_contract(api, book):
    assert ids(api, "sort=-pnl", book) == ["t1", "t5", "t3", "t4", "t2"]
    assert ids(api, "sort=pnl", book) == ["t2", "t4", "t3", "t5", "t1"]
    assert ids(api, "sort=closed_at", book) == ["t1", "t2", "t5", "t3", "t4"]
    assert ids(api, "sort=symbol&limit=2", book)[:1] == ["t4"]  # BTC first, newest first within
    body = api.get("/api/v1/trades?sort=-pnl&limit=2&offset=1").json()
    assert (body["count"], body["limit"], body["offset"]) == (5, 2, 1)
    assert [item["realized_pnl"] for item in body["items"]] == ["3", "2"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/trades?sort=profit", "sort"),
        ("/api/v1/trades?side=up", "side"),
        ("/api/v1/trades?outcome=draw", "outcome"),
        ("/api/v1/trades?reason=whim", "reason"),
        ("/api/v1/trades?from=yesterday", "from"),
        ("/api/v1/trades?timeframe=7x", "timeframe"),
        ("/api/v1/trades?symbol=BTC%20USDT", "symbol"),
        ("/api/v1/analytics/summary?to=2024-13-01", "to"),
        ("/api/v1/analytics/summary?bins=0", "bins"),
        ("/api/v1/analytics/equity?max_points=2001", "max_points"),
        ("/api/v1/analytics/equity?side=both", "side"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_parameter(api, book, path: str, name: str) -> None:
    response = api.get(path)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][-1] == name


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("account=nope", "unknown account 'nope'"),
        ("from=2024-03-03&to=2024-03-02", "`from` must be before `to`"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/trades", "/api/v1/analytics/summary", "/api/v1/analytics/equity"])
def test_an_unknown_account_or_an_empty_range_is_a_422_saying_so(api, book, path, query, message):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 422 and response.json() == {"detail": message}


def test_summary_of_every_trade(api, book):
    body = api.get("/api/v1/analytics/summary").json()
    stats = body["stats"]
    # PnL 10, -4, 2, -1, 3: net 10; wins 15 over 3, losses -5 over 2.
    assert (stats["trades"], stats["wins"], stats["losses"], stats["net_pnl"]) == (5, 3, 2, "10")
    assert (stats["win_rate"], stats["avg_win"], stats["avg_loss"]) == ("60", "5", "-2.5")
    assert (stats["rr_ratio"], stats["profit_factor"], stats["profit_factor_infinite"]) == ("2", "3", False)
    assert body["realised"]["all"] == "10"
    assert [(r["key"], r["net_pnl"]) for r in body["by_pair"]] == [
        ("BTC/USDT", "11"),
        ("SOL/USDT", "3"),
        ("ETH/USDT", "-4"),
    ]
    assert (body["long"]["net_pnl"], body["short"]["net_pnl"]) == ("14", "-4")
    assert [t["id"] for t in body["best"]][:2] == [book["t1"].pk, book["t5"].pk]
    assert body["best"][0]["return_percent"] == "10"  # 10 on 1 × 100
    assert [t["id"] for t in body["worst"]][:1] == [book["t2"].pk]
    assert sum(b["count"] for b in body["histogram"]) == 5
    assert {(c["symbol"], c["timeframe"], c["net_pnl"]) for c in body["heatmap"]} == {
        ("BTC/USDT", "15m", "9"),
        ("BTC/USDT", "1h", "2"),
        ("ETH/USDT", "1h", "-4"),
        ("SOL/USDT", "15m", "3"),
    }
    assert [
        (d["day"], d["trades"], d["net_pnl"], d["best_symbol"], d["worst_symbol"]) for d in body["daily"]
    ] == [
        ("2024-03-03", 2, "1", "BTC/USDT", "BTC/USDT"),
        ("2024-03-02", 2, "-1", "SOL/USDT", "ETH/USDT"),
        ("2024-03-01", 1, "10", "BTC/USDT", "BTC/USDT"),
    ]
    assert [(p["start"], p["net_pnl"]) for p in body["pnl_by_month"]] == [("2024-03-01", "10")]
    risk = body["risk"]
    # No snapshots yet: the realised curve of the trades, on 10,000 per account.
    assert (risk["equity_source"], risk["capital_base"]) == ("trades", "20000")
    assert risk["drawdown"]["max_usd"] == "4"  # 20010 → 20006 (t2)
    assert risk["daily_returns"] == 3


def test_summary_filters_narrow_every_figure(api, book):
    body = api.get("/api/v1/analytics/summary?account=paper&symbol=BTCUSDT&timeframe=15").json()
    assert (body["stats"]["trades"], body["stats"]["net_pnl"]) == (2, "9")
    assert [c["symbol"] for c in body["heatmap"]] == ["BTC/USDT"]
    assert body["risk"]["capital_base"] == "10000"
    empty = api.get("/api/v1/analytics/summary?side=short&symbol=SOLUSDT").json()
    assert empty["stats"]["trades"] == 0 and empty["stats"]["win_rate"] is None
    assert empty["histogram"] == [] and empty["risk"]["sharpe"] is None


def test_equity_from_snapshots_summed_over_accounts_and_downsampled(api, book):
    for minute in range(50):
        at = T0 + timedelta(minutes=minute)
        EquitySnapshot.objects.create(account=book["paper"], taken_at=at, realised=D(minute), total=D(minute))
        EquitySnapshot.objects.create(account=book["other"], taken_at=at, realised=D(1), total=D(-minute))

    body = api.get("/api/v1/analytics/equity").json()
    assert (body["source"], body["count"], body["capital_base"]) == ("snapshots", 50, "20000")
    assert {(p["realised"], p["total"]) for p in body["points"][:3]} == {("1", "0"), ("2", "0"), ("3", "0")}

    thin = api.get("/api/v1/analytics/equity?account=paper&max_points=10").json()
    assert len(thin["points"]) <= 10 and thin["count"] == 50
    assert thin["points"][-1]["total"] == "49" and thin["points"][-1]["drawdown_usd"] == "0"

    window = api.get(
        "/api/v1/analytics/equity?account=paper&from=2024-03-01T12:10:00Z&to=2024-03-01T12:20:00Z"
    )
    assert [p["total"] for p in window.json()["points"]] == [str(m) for m in range(10, 20)]

    by_market = api.get("/api/v1/analytics/equity?symbol=BTCUSDT").json()
    assert by_market["source"] == "trades"
    assert [p["realised"] for p in by_market["points"]] == ["10", "12", "11"]


def test_summary_drawdown_and_ratios_come_from_the_snapshots_when_there_are_some(api, book):
    for day, total in enumerate(["0", "100", "-50", "25"]):
        EquitySnapshot.objects.create(
            account=book["paper"], taken_at=T0 + timedelta(days=day), realised=D(total), total=D(total)
        )
    risk = api.get("/api/v1/analytics/summary?account=paper").json()["risk"]
    assert (risk["equity_source"], risk["capital_base"]) == ("snapshots", "10000")
    assert (risk["drawdown"]["max_usd"], risk["drawdown"]["current_usd"]) == ("150", "75")
    assert risk["daily_returns"] == 4 and risk["sharpe"] is not None and risk["sortino"] is not None
