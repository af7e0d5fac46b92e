"""GET/PUT config through the API: validated, saved atomically, secrets masked both ways."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory, reset_config
from trading import config_service
from trading.config_schema import MASK

pytestmark = pytest.mark.django_db

SECRET = "tv-hook-secret-42"


@pytest.fixture(autouse=True)
def _fresh_config() -> None:
    reset_config()
    config_service.ensure_initialised()  # v1 with the defaults, in the database and config.json


@pytest.fixture
def api() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory().plain}")


def _put(api: Client, body: object):
    return api.put("/api/v1/config", json.dumps(body), content_type="application/json")


def _file() -> dict:
    return json.loads(config_service.config_path().read_text())


def test_get_config_returns_the_masked_document_and_version(api: Client) -> None:
    config_service.update({"security": {"webhook_secret": SECRET}}, source="test")
    response = api.get("/api/v1/config")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == config_service.current_version() == 2  # v1 defaults, v2 the secret
    assert body["config"]["security"]["webhook_secret"] == MASK + "42"
    assert SECRET not in response.content.decode()
    assert body["config"]["grid_strategy"]["aggregate_tp_percent"] == "1.0"  # decimals as strings


def test_an_invalid_put_is_422_listing_every_bad_field_and_changes_nothing(api: Client) -> None:
    version = config_service.current_version()
    on_disk = _file()
    response = _put(
        api,
        {
            "execution_pool": {"max_open_groups": 0},
            "app": {"mode": "demo"},
            "grid_strategy": {"aggregate_tp_percent": "abc"},
            "no_such_section": {},
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "invalid config"
    fields = {error["field"] for error in body["errors"]}
    assert fields == {
        "execution_pool.max_open_groups",
        "app.mode",
        "grid_strategy.aggregate_tp_percent",
        "no_such_section",
    }
    assert all(error["message"] for error in body["errors"])
    assert config_service.current_version() == version
    assert config_service.current().execution_pool.max_open_groups == 10
    assert _file() == on_disk


@pytest.mark.parametrize("body", [[1, 2], "paper", 42])
def test_a_put_that_is_not_an_object_is_422(api: Client, body: object) -> None:
    version = config_service.current_version()
    assert _put(api, body).status_code == 422
    assert config_service.current_version() == version


def test_a_valid_partial_put_bumps_the_version_and_rewrites_config_json(api: Client) -> None:
    version = config_service.current_version()
    response = _put(api, {"execution_pool": {"max_open_groups": 3}, "app": {"instance_name": "desk-2"}})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == version + 1 == config_service.current_version()
    assert body["config"]["execution_pool"]["max_open_groups"] == 3
    assert body["config"]["risk_engine"]["enabled"] is True  # untouched sections keep their values
    on_disk = _file()
    assert on_disk["execution_pool"]["max_open_groups"] == 3
    assert on_disk["app"]["instance_name"] == "desk-2"
    assert api.get("/api/v1/pool").json()["max"] == 3


def test_a_masked_secret_sent_back_keeps_the_stored_secret(api: Client) -> None:
    assert _put(api, {"security": {"webhook_secret": SECRET}}).status_code == 200
    shown = api.get("/api/v1/config").json()["config"]
    shown["execution_pool"]["max_open_groups"] = 4

    response = _put(api, shown)  # the whole document back, secret still masked

    assert response.status_code == 200
    assert response.json()["config"]["security"]["webhook_secret"] == MASK + "42"
    assert config_service.current().security.webhook_secret == SECRET
    assert config_service.current().execution_pool.max_open_groups == 4
    assert _file()["security"]["webhook_secret"] == SECRET


def test_config_errors_never_echo_the_secret(api: Client) -> None:
    response = _put(api, {"security": {"webhook_secret": "short7!", "require_hmac": "maybe"}})
    assert response.status_code == 422
    assert "short7!" not in response.content.decode()
    assert {e["field"] for e in response.json()["errors"]} >= {
        "security.webhook_secret",
        "security.require_hmac",
    }
