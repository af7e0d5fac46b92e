"""The REST API's read side and its authentication: every GET, 401s, health, openapi.json."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import get_args

import pytest
from django.test import Client

from exchanges.models import Venue
from exchanges.paper_models import PaperPrice
from tests.factories import (
    T0,
    ApiTokenFactory,
    CommandFactory,
    DcaLegFactory,
    EventFactory,
    ExchangeAccountFactory,
    OrderFactory,
    PositionGroupFactory,
    PyramidFactory,
    QueueEntryFactory,
    SignalFactory,
    TradeFactory,
    UserFactory,
    build_ladder,
    fill_leg,
    reset_config,
)
from trading import config_service
from trading.api.schemas import GroupStatusFilter
from trading.models import ApiToken, EngineState, GroupStatus, SignalStatus

D = Decimal
pytestmark = pytest.mark.django_db

READ_ENDPOINTS = [
    "/api/v1/pool",
    "/api/v1/groups",
    "/api/v1/groups/1",
    "/api/v1/queue",
    "/api/v1/signals",
    "/api/v1/signals/1",
    "/api/v1/trades",
    "/api/v1/events",
    "/api/v1/config",
    "/api/v1/commands/1",
]


@pytest.fixture(autouse=True)
def _fresh_config() -> None:
    reset_config()


@pytest.fixture
def token() -> ApiToken:
    return ApiTokenFactory(readonly=True)


@pytest.fixture
def api(token: ApiToken) -> Client:
    """A client sending a (read-only) bearer token: every read works with one."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token.plain}")


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_every_read_needs_a_token(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Bearer ", "Token {plain}", "{plain}", "Basic dXNlcjpwYXNz"],
)
def test_a_wrong_token_or_scheme_is_401(token: ApiToken, header: str) -> None:
    response = Client(HTTP_AUTHORIZATION=header.format(plain=token.plain)).get("/api/v1/pool")
    assert response.status_code == 401


def test_a_token_of_an_inactive_user_is_refused() -> None:
    token = ApiTokenFactory(user=UserFactory(is_active=False))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token.plain}").get("/api/v1/pool")
    assert response.status_code == 401


def test_the_stored_token_is_only_a_hash(token: ApiToken) -> None:
    assert token.plain not in token.token_hash
    assert token.prefix == token.plain[:8]
    assert len(token.token_hash) == 64


# --- health, openapi ----------------------------------------------------------------------------


def test_health_is_public_and_shows_only_status_fields(client: Client) -> None:
    now = datetime.now(UTC)
    EngineState.objects.create(
        pk=1, status=EngineState.Status.RUNNING, heartbeat_at=now, last_webhook_at=T0, owner="host:4242"
    )
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "engine",
        "heartbeat_at",
        "db",
        "last_webhook_at",
        "config_version",
        "instance_name",
        "mode",
        "skipped_ticks",
    }
    assert body["engine"] == "running"
    assert body["db"] == "ok"
    assert body["last_webhook_at"].startswith("2024-03-01T12:00:00")
    assert "host:4242" not in response.content.decode()


@pytest.mark.parametrize(
    ("status", "heartbeat_age", "shown"),
    [
        (EngineState.Status.PAUSED, timedelta(seconds=3), "paused"),
        (EngineState.Status.ERROR, timedelta(seconds=1), "error"),
        (EngineState.Status.RUNNING, timedelta(seconds=11), "stopped"),
        (EngineState.Status.RUNNING, None, "stopped"),
    ],
)
def test_health_reports_a_stale_heartbeat_as_stopped(
    client: Client, status: str, heartbeat_age: timedelta | None, shown: str
) -> None:
    heartbeat = None if heartbeat_age is None else datetime.now(UTC) - heartbeat_age
    EngineState.objects.create(pk=1, status=status, heartbeat_at=heartbeat)
    assert client.get("/api/v1/health").json()["engine"] == shown


def test_health_names_the_instance_and_its_mode(client: Client) -> None:
    config_service.update({"app": {"instance_name": "desk-7", "mode": "live"}}, source="test")
    body = client.get("/api/v1/health").json()
    assert (body["instance_name"], body["mode"]) == ("desk-7", "live")


def test_health_without_an_engine_row_is_stopped(client: Client) -> None:
    assert client.get("/api/v1/health").json()["engine"] == "stopped"
    assert not EngineState.objects.exists()  # reading health writes nothing


def test_openapi_lists_every_path(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "TV Engine API"
    expected = {
        "/api/v1/health",
        "/api/v1/pool",
        "/api/v1/groups",
        "/api/v1/groups/{group_id}",
        "/api/v1/groups/{group_id}/close",
        "/api/v1/queue",
        "/api/v1/queue/{entry_id}/promote",
        "/api/v1/queue/{entry_id}/remove",
        "/api/v1/queue/{entry_id}/force",
        "/api/v1/signals",
        "/api/v1/trades",
        "/api/v1/events",
        "/api/v1/config",
        "/api/v1/paper/prices",
        "/api/v1/engine/pause",
        "/api/v1/engine/resume",
        "/api/v1/markets/refresh",
        "/api/v1/commands/{command_id}",
    }
    assert expected <= set(schema["paths"])
    assert "put" in schema["paths"]["/api/v1/config"]
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_docs_page_renders(client: Client) -> None:
    assert client.get("/api/v1/docs").status_code == 200


# --- pool, groups -------------------------------------------------------------------------------


def test_pool_counts_open_groups_and_the_queue(api: Client) -> None:
    PositionGroupFactory.create_batch(2)
    PositionGroupFactory(status=GroupStatus.CLOSED, closed_at=T0)
    QueueEntryFactory(reason="pool_full")
    QueueEntryFactory(reason="precision", signal__timeframe="240")
    response = api.get("/api/v1/pool")
    assert response.status_code == 200
    assert response.json() == {"max": 10, "used": 2, "queued": 2, "queued_waiting_precision": 1}


def test_groups_filter_by_status_and_open(api: Client) -> None:
    live = PositionGroupFactory(status=GroupStatus.LIVE)
    active = PositionGroupFactory(status=GroupStatus.ACTIVE)
    closed = PositionGroupFactory(status=GroupStatus.CLOSED, closed_at=T0)

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/groups{query}")
        assert response.status_code == 200
        return [g["id"] for g in response.json()["items"]]

    assert ids("") == [closed.pk, active.pk, live.pk]  # newest first
    assert ids("?status=open") == [active.pk, live.pk]
    assert ids("?status=closed") == [closed.pk]
    assert ids("?status=active") == [active.pk]


def test_groups_reject_an_unknown_status_filter(api: Client) -> None:
    response = api.get("/api/v1/groups?status=sleeping")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "status"]


def test_the_group_status_filter_covers_every_status() -> None:
    assert set(get_args(GroupStatusFilter)) == {"open", *GroupStatus.values}


def test_groups_are_paginated(api: Client) -> None:
    groups = PositionGroupFactory.create_batch(5)
    body = api.get("/api/v1/groups?limit=2&offset=1").json()
    assert body["count"] == 5
    assert (body["limit"], body["offset"]) == (2, 1)
    assert [g["id"] for g in body["items"]] == [groups[3].pk, groups[2].pk]
    assert api.get("/api/v1/groups?limit=0").status_code == 422
    assert api.get("/api/v1/groups?offset=-1").status_code == 422


def test_group_detail_shows_legs_labelled_dca0_with_decimal_strings(api: Client) -> None:
    pyramid = PyramidFactory(base_price=D("43000"), size_amount=D("100"))
    legs = build_ladder(pyramid)
    fill_leg(legs[0])
    OrderFactory(group=pyramid.group, leg=legs[0], state="filled", filled_qty=D("0.00046"))
    PaperPrice.objects.create(
        account=pyramid.group.account, symbol="BTC/USDT", price=D("43215"), updated_at=T0
    )

    response = api.get(f"/api/v1/groups/{pyramid.group.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["account"] == "paper"
    assert body["last_price"] == "43215"
    [p] = body["pyramids"]
    assert p["base_price"] == "43000"
    assert [leg["label"] for leg in p["legs"]] == ["DCA0", "DCA1", "DCA2", "DCA3", "DCA4"]
    dca0, dca1 = p["legs"][0], p["legs"][1]
    assert dca0 == dca0 | {
        "index": 0,
        "gap_percent": "0",
        "weight_percent": "20",
        "tp_percent": "1",
        "price": "43000",
        "qty": "0.00046",
        "filled_qty": "0.00046",
        "avg_fill_price": "43000",
        "tp_price": "43430",
        "state": "filled",
        "realized_pnl": "0",
        "tp_progress_percent": "50",  # 215 of the 430 to the TP
    }
    assert dca1["gap_percent"] == "-0.5"
    assert dca1["price"] == "42785"
    assert dca1["avg_fill_price"] is None
    assert dca1["tp_progress_percent"] is None
    assert body["open_qty"] == "0.00046"
    assert body["avg_entry_price"] == "43000"
    assert body["aggregate_tp_price"] == "43430"
    [order] = body["orders"]
    assert order["leg_id"] == legs[0].pk
    assert order["qty"] == "0.00046"


def test_group_detail_of_an_unknown_id_is_404(api: Client) -> None:
    response = api.get("/api/v1/groups/999999")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


def test_group_summary_averages_open_legs_by_quantity(api: Client) -> None:
    pyramid = PyramidFactory()
    fill_leg(DcaLegFactory(pyramid=pyramid, index=0, qty=D("0.001"), price=D("43000")))
    fill_leg(DcaLegFactory(pyramid=pyramid, index=1, qty=D("0.003"), price=D("42000")))
    [group] = api.get("/api/v1/groups").json()["items"]
    assert group["open_qty"] == "0.004"
    assert group["avg_entry_price"] == "42250"


# --- queue, signals, trades, events, commands ---------------------------------------------------


def test_queue_is_ranked_by_loss_and_unpriced_entries_go_last(api: Client) -> None:
    paper = ExchangeAccountFactory()
    live = ExchangeAccountFactory(label="binance-main", venue=Venue.BINANCE)
    shallow = QueueEntryFactory(signal__symbol="ETH/USDT", signal__entry_price=D("2300"))
    deep = QueueEntryFactory(signal__symbol="BTC/USDT", signal__entry_price=D("43000"))
    unpriced = QueueEntryFactory(account=live, signal__symbol="SOL/USDT", signal__entry_price=D("100"))
    PaperPrice.objects.create(account=paper, symbol="ETH/USDT", price=D("2290"), updated_at=T0)
    PaperPrice.objects.create(account=paper, symbol="BTC/USDT", price=D("42000"), updated_at=T0)

    response = api.get("/api/v1/queue")

    assert response.status_code == 200
    rows = response.json()["items"]
    assert [(r["id"], r["rank"]) for r in rows] == [(deep.pk, 1), (shallow.pk, 2), (unpriced.pk, 3)]
    assert rows[0]["loss_percent"] == "-2.3256"
    assert rows[1]["loss_percent"] == "-0.4348"
    assert rows[2]["loss_percent"] is None
    assert rows[0] | {"entry_price": "43000", "expected_profit": "1.2", "reason": "pool_full"} == rows[0]
    assert rows[2]["account"] == "binance-main"


def test_queue_list_follows_the_list_contract(api: Client) -> None:
    entries = [
        QueueEntryFactory(signal__symbol=symbol, signal__raw_symbol=symbol.replace("/", ""))
        for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
    ]
    whole = api.get("/api/v1/queue").json()
    assert (whole["count"], whole["limit"], whole["offset"]) == (4, 100, 0)
    ranked = [row["id"] for row in whole["items"]]
    assert sorted(ranked) == sorted(e.pk for e in entries)

    page = api.get("/api/v1/queue?limit=2&offset=1").json()
    assert (page["count"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [row["id"] for row in page["items"]] == ranked[1:3]
    assert [row["rank"] for row in page["items"]] == [2, 3]  # ranks stay the queue's, not the page's
    for bad in ("limit=0", "limit=501", "offset=-1", "offset=1000000001"):
        response = api.get(f"/api/v1/queue?{bad}")
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"][-1] == bad.split("=")[0]


def test_signals_newest_first_with_status_filter(api: Client) -> None:
    group = PositionGroupFactory()
    applied = SignalFactory(group=group)
    rejected = SignalFactory(status=SignalStatus.REJECTED, reason="stale: sent 95 s ago", processed_at=T0)
    body = api.get("/api/v1/signals").json()
    assert [s["id"] for s in body["items"]] == [rejected.pk, applied.pk]
    assert (
        body["items"][1] | {"group_id": group.pk, "intent": "signal", "entry_price": "43000"}
        == body["items"][1]
    )
    only = api.get("/api/v1/signals?status=rejected").json()["items"]
    assert [(s["id"], s["reason"]) for s in only] == [(rejected.pk, "stale: sent 95 s ago")]
    assert api.get("/api/v1/signals?status=bogus").status_code == 422


def test_signal_detail_includes_the_payload(api: Client) -> None:
    signal = SignalFactory()
    body = api.get(f"/api/v1/signals/{signal.pk}").json()
    assert body["payload"]["tv"]["symbol"] == "BTCUSDT"
    assert api.get("/api/v1/signals/999999").status_code == 404


def test_trades_newest_first_with_decimal_pnl(api: Client) -> None:
    older = TradeFactory(closed_at=T0)
    newer = TradeFactory(closed_at=T0 + timedelta(hours=2), realized_pnl=D("-1.25"), reason="risk")
    items = api.get("/api/v1/trades").json()["items"]
    assert [t["id"] for t in items] == [newer.pk, older.pk]
    assert items[0]["realized_pnl"] == "-1.25"
    assert items[1] | {"realized_pnl": "0.1580422", "exit_price": "43430", "account": "paper"} == items[1]


def test_events_filter_by_category_severity_symbol_and_since(api: Client) -> None:
    old = EventFactory(created_at=T0, category="order", severity="warning", symbol="BTC/USDT")
    new = EventFactory(
        created_at=T0 + timedelta(hours=1), category="order", severity="error", symbol="ETH/USDT"
    )
    EventFactory(created_at=T0 + timedelta(hours=2), category="engine", severity="info", symbol="")

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["items"]]

    assert ids("category=order") == [new.pk, old.pk]
    assert ids("severity=warning") == [old.pk]
    assert ids("symbol=ETH/USDT") == [new.pk]
    assert ids("category=order&since=2024-03-01T12:30:00Z") == [new.pk]
    assert ids("category=order&since=2024-03-01T12:30:00") == [new.pk]  # no offset: UTC
    assert api.get("/api/v1/events?since=yesterday").status_code == 422
    assert api.get("/api/v1/events?category=nope").status_code == 422


def test_command_status_can_be_polled(api: Client) -> None:
    command = CommandFactory(kind="pause", status="applied", result="engine paused", applied_at=T0)
    response = api.get(f"/api/v1/commands/{command.pk}")
    assert response.status_code == 200
    assert (
        response.json() | {"kind": "pause", "status": "applied", "result": "engine paused"} == response.json()
    )
    assert api.get("/api/v1/commands/999999").status_code == 404
