"""The REST API's write side: every write is one pending Command row, never a direct change."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from exchanges.models import Venue
from tests.factories import (
    T0,
    ApiTokenFactory,
    ExchangeAccountFactory,
    PositionGroupFactory,
    QueueEntryFactory,
    reset_config,
)
from trading import config_service
from trading.models import ApiToken, Command, GroupStatus, PositionGroup, QueueEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_config() -> None:
    reset_config()


@pytest.fixture
def token() -> ApiToken:
    return ApiTokenFactory()


@pytest.fixture
def api(token: ApiToken) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token.plain}")


@pytest.fixture
def world() -> dict[str, int]:
    """One open group and one queue entry on the paper account."""
    ExchangeAccountFactory(label="binance-main", venue=Venue.BINANCE)
    return {"group": PositionGroupFactory().pk, "entry": QueueEntryFactory(signal__timeframe="240").pk}


def _writes(world: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None, str, dict[str, Any]]]:
    """(method, path, body, expected command kind, expected args) for every command-writing endpoint."""
    group, entry = world["group"], world["entry"]
    price = {"symbol": "BTCUSDT", "price": "43000.50", "account": "paper"}
    return [
        ("post", f"/api/v1/groups/{group}/close", None, "close_group", {"group_id": group}),
        ("post", f"/api/v1/queue/{entry}/promote", None, "queue_promote", {"entry_id": entry}),
        ("post", f"/api/v1/queue/{entry}/remove", None, "queue_remove", {"entry_id": entry}),
        ("post", f"/api/v1/queue/{entry}/force", None, "queue_force", {"entry_id": entry}),
        ("post", "/api/v1/paper/prices", price, "paper_price", {**price, "price": "43000.5"}),
        ("post", "/api/v1/engine/pause", None, "pause", {}),
        ("post", "/api/v1/engine/resume", None, "resume", {}),
        ("post", "/api/v1/markets/refresh", None, "refresh_markets", {}),
        (
            "post",
            "/api/v1/accounts/binance-main/clear-block",
            None,
            "clear_account_block",
            {"account": "binance-main"},
        ),
    ]


def _send(client: Client, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, content_type="application/json")


def test_every_write_enqueues_exactly_one_command(
    api: Client, token: ApiToken, world: dict[str, int]
) -> None:
    for method, path, body, kind, args in _writes(world):
        before = set(Command.objects.values_list("pk", flat=True))
        response = _send(api, method, path, body)
        assert response.status_code == 202, (path, response.content)
        [new] = Command.objects.exclude(pk__in=before)
        assert response.json() == {"command_id": new.pk, "status": "pending"}, path
        assert (new.kind, new.args, new.status) == (kind, args, "pending"), path
        assert new.created_by == token.user
    # Nothing was changed directly: the engine applies the commands.
    assert PositionGroup.objects.get(pk=world["group"]).status == GroupStatus.LIVE
    assert QueueEntry.objects.filter(pk=world["entry"], promoted_at=None).exists()


def test_a_read_only_token_is_403_on_every_write_and_writes_nothing(world: dict[str, int]) -> None:
    readonly = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    version = config_service.current_version()
    writes = [(m, p, b) for m, p, b, _, _ in _writes(world)]
    writes.append(("put", "/api/v1/config", {"execution_pool": {"max_open_groups": 3}}))
    for method, path, body in writes:
        response = _send(readonly, method, path, body)
        assert response.status_code == 403, path
        assert response.json() == {"detail": "read-only token"}
    assert not Command.objects.exists()
    assert config_service.current_version() == version
    assert config_service.current().execution_pool.max_open_groups == 10


def test_writes_without_a_token_are_401(client: Client, world: dict[str, int]) -> None:
    for method, path, body, _, _ in _writes(world):
        assert _send(client, method, path, body).status_code == 401, path
    assert client.put("/api/v1/config", {}, content_type="application/json").status_code == 401
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/groups/999999/close",
        "/api/v1/queue/999999/promote",
        "/api/v1/queue/999999/remove",
        "/api/v1/queue/999999/force",
        "/api/v1/accounts/nobody/clear-block",
    ],
)
def test_writes_on_unknown_ids_are_404_and_enqueue_nothing(api: Client, path: str) -> None:
    response = api.post(path)
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]
    assert not Command.objects.exists()


def test_closing_a_closed_group_is_409(api: Client) -> None:
    group = PositionGroupFactory(status=GroupStatus.CLOSED, closed_at=T0)
    response = api.post(f"/api/v1/groups/{group.pk}/close")
    assert response.status_code == 409
    assert not Command.objects.exists()


def test_a_path_id_that_is_not_a_number_is_422(api: Client) -> None:
    assert api.post("/api/v1/groups/abc/close").status_code == 422
    assert not Command.objects.exists()


# --- paper prices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price", ["-1", "0", "abc", "", "NaN", "Infinity", "1e40", "0.0000000000001", None, [43000]]
)
def test_paper_price_must_be_a_positive_decimal(api: Client, price: Any) -> None:
    ExchangeAccountFactory()
    response = api.post(
        "/api/v1/paper/prices", {"symbol": "BTCUSDT", "price": price}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "price"
    assert not Command.objects.exists()


def test_paper_price_accepts_a_json_number_and_defaults_to_the_paper_account(api: Client) -> None:
    ExchangeAccountFactory()
    response = api.post(
        "/api/v1/paper/prices", {"symbol": "ETH/USDT", "price": 2291.25}, content_type="application/json"
    )
    assert response.status_code == 202
    command = Command.objects.get()
    assert command.args == {"symbol": "ETH/USDT", "price": "2291.25", "account": "paper"}


@pytest.mark.parametrize("account", ["nope", "binance-main"])
def test_paper_price_on_a_non_paper_account_is_404(api: Client, account: str) -> None:
    ExchangeAccountFactory()
    ExchangeAccountFactory(label="binance-main", venue=Venue.BINANCE)
    response = api.post(
        "/api/v1/paper/prices",
        {"symbol": "BTCUSDT", "price": "43000", "account": account},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Command.objects.exists()


def test_paper_price_rejects_a_missing_symbol_or_a_bad_body(api: Client) -> None:
    ExchangeAccountFactory()
    missing = api.post("/api/v1/paper/prices", {"price": "1"}, content_type="application/json")
    assert missing.status_code == 422
    garbage = api.post("/api/v1/paper/prices", "{not json", content_type="application/json")
    assert garbage.status_code == 400
    assert not Command.objects.exists()
