"""The Django admin edits the config document through the config service: same validation, field
errors shown, secrets masked and kept, a stale form refused, every save an audit event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import reset_config
from trading import config_service
from trading.config_schema import MASK, masked_document
from trading.models import Event

pytestmark = pytest.mark.django_db

SECRET = "admin-test-webhook-secret"
URL = reverse("admin:trading_configdocument_change", args=[1])


@pytest.fixture
def root(db: Any) -> Client:
    reset_config()
    config_service.update({"security": {"webhook_secret": SECRET}}, source="test")
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw-for-tests-1"))
    return client


def submit(client: Client, document: dict[str, Any], based_on: int | None = None) -> Any:
    version = based_on if based_on is not None else config_service.current_version()
    return client.post(URL, {"config_json": json.dumps(document), "based_on": str(version)})


def test_the_admin_shows_the_config_with_the_secret_masked(root: Client) -> None:
    html = root.get(URL).content.decode()
    assert "max_open_groups" in html and f"{MASK}{SECRET[-2:]}" in html
    assert SECRET not in html


def test_the_admin_form_validates_like_the_api_and_shows_field_errors(root: Client) -> None:
    version, before = config_service.current_version(), config_service.config_path().read_bytes()
    document = masked_document(config_service.current())
    document["app"]["engine_poll_interval_ms"] = 5
    document["ui"]["theme"] = "pink"
    html = submit(root, document).content.decode()
    assert "app.engine_poll_interval_ms: Input should be greater than or equal to 20" in html
    assert "ui.theme: Input should be &#x27;dark&#x27; or &#x27;light&#x27;" in html
    assert config_service.current_version() == version
    assert config_service.config_path().read_bytes() == before


def test_the_admin_rejects_text_that_is_not_json(root: Client) -> None:
    response = root.post(URL, {"config_json": "{not json", "based_on": str(config_service.current_version())})
    assert "not valid JSON" in response.content.decode()


def test_an_admin_save_goes_through_the_config_service_and_keeps_the_masked_secret(root: Client) -> None:
    version = config_service.current_version()
    document = masked_document(config_service.current())
    document["execution_pool"]["max_open_groups"] = 4
    assert submit(root, document).status_code == 302
    assert config_service.current_version() == version + 1
    assert config_service.current().execution_pool.max_open_groups == 4
    assert config_service.current().security.webhook_secret == SECRET
    event = Event.objects.get(message__contains="saved from Django admin by root")
    assert event.context["changes"] == [{"field": "execution_pool.max_open_groups", "old": "10", "new": "4"}]


def test_a_stale_admin_form_is_refused(root: Client) -> None:
    stale = config_service.current_version()
    config_service.update({"execution_pool": {"max_open_groups": 9}}, source="api")
    document = masked_document(config_service.current())
    document["app"]["instance_name"] = "overwrite"
    html = submit(root, document, based_on=stale).content.decode()
    assert "saved elsewhere since this form was opened" in html
    assert config_service.current().app.instance_name == "tv-engine"
