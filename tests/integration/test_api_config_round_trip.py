"""`GET config` can be sent back to `PUT config` unchanged, and a PUT can be made conditional on the
version it was based on (the wrapper's `version` or `If-Match`): a stale one is a 409 that changes
nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory, reset_config
from trading import config_service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_config() -> None:
    reset_config()
    config_service.ensure_initialised()


@pytest.fixture
def api() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory().plain}", raise_request_exception=False)


def put(api: Client, body: object, **headers: str):
    return api.put("/api/v1/config", json.dumps(body), content_type="application/json", headers=headers)


def file_and_version() -> tuple[str, int]:
    return config_service.config_path().read_text(), config_service.current_version()


def test_get_config_output_can_be_put_back_unchanged(api: Client) -> None:
    shown = api.get("/api/v1/config").json()

    response = put(api, shown)

    assert response.status_code == 200, response.content
    assert response.json()["version"] == shown["version"] + 1
    assert response.json()["config"] == shown["config"]


def test_get_config_output_with_one_change_put_back_applies_it(api: Client) -> None:
    shown = api.get("/api/v1/config").json()
    shown["config"]["execution_pool"]["max_open_groups"] = 3

    assert put(api, shown).status_code == 200
    assert config_service.current().execution_pool.max_open_groups == 3


def test_a_put_based_on_a_stale_version_is_409_with_the_current_version_and_changes_nothing(
    api: Client,
) -> None:
    shown = api.get("/api/v1/config").json()
    config_service.update({"app": {"instance_name": "someone-else"}}, source="test")  # a concurrent change
    before = file_and_version()
    shown["config"]["execution_pool"]["max_open_groups"] = 3

    response = put(api, shown)

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["current_version"] == shown["version"] + 1
    assert f"version {shown['version'] + 1}" in body["detail"]
    assert file_and_version() == before
    assert config_service.current().execution_pool.max_open_groups == 10
    assert config_service.current().app.instance_name == "someone-else"


def test_if_match_makes_a_bare_document_put_conditional(api: Client) -> None:
    config_service.update({"app": {"instance_name": "v2"}}, source="test")
    got = api.get("/api/v1/config")
    version = got.json()["version"]
    assert got["ETag"] == f'"{version}"'

    stale = put(api, {"execution_pool": {"max_open_groups": 4}}, **{"If-Match": f'"{version - 1}"'})
    assert stale.status_code == 409 and stale.json()["current_version"] == version
    assert config_service.current().execution_pool.max_open_groups == 10

    fresh = put(api, {"execution_pool": {"max_open_groups": 4}}, **{"If-Match": f'"{version}"'})
    assert fresh.status_code == 200
    assert fresh["ETag"] == f'"{version + 1}"'
    assert config_service.current().execution_pool.max_open_groups == 4


def test_a_bare_documents_own_version_is_its_format_version_not_a_condition(api: Client) -> None:
    config_service.update({"app": {"instance_name": "v2"}}, source="test")
    response = put(api, {"version": 1, "execution_pool": {"max_open_groups": 5}})
    assert response.status_code == 200, response.content
    assert config_service.current().execution_pool.max_open_groups == 5


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"version": "seven", "config": {}}, {}, "version"),
        ({"version": 0, "config": {}}, {}, "version"),
        ({"version": True, "config": {}}, {}, "version"),
        ({"config": [1, 2]}, {}, "config"),
        ({"version": 1, "config": {}, "app": {}}, {}, "app"),
        ({"app": {}}, {"If-Match": "yesterday"}, "If-Match"),
        ({"version": 1, "config": {}}, {"If-Match": "2"}, "version"),
    ],
)
def test_a_bad_version_or_wrapper_is_422_naming_it_and_changes_nothing(
    api: Client, body: dict, headers: dict, field: str
) -> None:
    before = file_and_version()
    response = put(api, body, **headers)
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert file_and_version() == before
