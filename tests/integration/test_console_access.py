"""Who may see and who may act: login everywhere, read-only operators refused server-side, CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client, override_settings

from trading import config_service
from trading.models import Command, EngineState, Event, Signal

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import OPERATOR_PASSWORD, WEBHOOK_SECRET, actions, body, pages

pytestmark = pytest.mark.django_db


def test_every_page_sends_an_anonymous_visitor_to_login(client: Client, book: dict[str, Any]) -> None:
    for url in pages(book):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_every_action_sends_an_anonymous_visitor_to_login_and_writes_nothing(
    client: Client, book: dict[str, Any]
) -> None:
    for url, data, _, _ in actions(book):
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert not Command.objects.exists()


def test_an_anonymous_htmx_request_is_redirected_by_header(client: Client) -> None:
    response = client.get(
        "/positions/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/positions/"}
    )
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")


def test_the_operator_gets_403_on_every_action_and_nothing_changes(
    operator_client: Client, book: dict[str, Any]
) -> None:
    config_service.update({"security": {"allow_webhook_replay": True}}, source="test")
    signals = Signal.objects.count()
    for url, data, _, _ in actions(book):
        assert operator_client.post(url, data).status_code == 403, url
    assert not Command.objects.exists()
    assert Signal.objects.count() == signals
    assert not Event.objects.filter(acknowledged=True).exists()


def test_the_operator_sees_every_page(operator_client: Client, book: dict[str, Any]) -> None:
    for url in pages(book):
        assert operator_client.get(url).status_code == 200, url


def _action_posts(html: str) -> set[str]:
    return set(re.findall(r'hx-post="([^"]+)"', html)) - {"/preferences/theme/"}


def test_the_operator_sees_no_action_buttons(
    operator_client: Client, admin_client: Client, book: dict[str, Any]
) -> None:
    config_service.update({"security": {"allow_webhook_replay": True}}, source="test")
    # A running engine (fresh heartbeat): Pause is offered only while there is an engine to pause.
    EngineState.objects.update_or_create(
        pk=1, defaults={"status": "running", "heartbeat_at": datetime.now(UTC)}
    )
    seen_by_admin: set[str] = set()
    for url in pages(book):
        if "export" in url:
            continue
        assert _action_posts(body(operator_client.get(url))) == set(), url
        seen_by_admin |= _action_posts(body(admin_client.get(url)))
    group, entry = book["group"].pk, book["entry"].pk
    # The admin, on the same pages, gets every kind of button.
    assert {
        "/engine/pause/",
        f"/positions/{group}/close/",
        "/risk/run/",
        f"/risk/{group}/skip/",
        f"/risk/{group}/block/",
        f"/queue/{entry}/promote/",
        f"/queue/{entry}/remove/",
        f"/queue/{entry}/force/",
        f"/alerts/{book['alert'].pk}/ack/",
        f"/logs/replay/{book['signal'].pk}/",
        "/status/refresh-markets/",
    } <= seen_by_admin


def test_csrf_is_enforced_on_console_actions(admin_user: Any, book: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post("/engine/pause/").status_code == 403
    assert not Command.objects.exists()
    client.get("/")  # the page sets the CSRF cookie and the <meta name="csrf-token"> htmx sends
    token = client.cookies["csrftoken"].value
    response = client.post("/engine/pause/", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200
    assert Command.objects.get().kind == "pause"


def test_pages_carry_the_csrf_token_for_htmx(admin_client: Client) -> None:
    html = body(admin_client.get("/"))
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', html)


def test_the_content_security_policy_forbids_inline_scripts(admin_client: Client) -> None:
    response = admin_client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # No inline <script> blocks or on* handlers in the page itself.
    html = body(response)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_login_page_uses_no_inline_script(client: Client) -> None:
    html = body(client.get("/accounts/login/"))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_login_works_and_the_role_is_shown(client: Client, operator_user: Any) -> None:
    response = client.post("/accounts/login/", {"username": "viewer", "password": OPERATOR_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "read-only" in body(client.get("/"))


@override_settings(LOGIN_RATE_LIMIT_ATTEMPTS=3, LOGIN_RATE_LIMIT_WINDOW_SEC=60)
def test_login_attempts_are_rate_limited(client: Client, operator_user: Any) -> None:
    from dashboard.models import AuthFailure

    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "viewer", "password": "wrong"}).status_code == 200
    # Locked out: even the right password is refused until the window passes.
    locked = client.post("/accounts/login/", {"username": "viewer", "password": OPERATOR_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in body(locked)
    AuthFailure.objects.all().delete()  # the window has passed
    assert (
        client.post("/accounts/login/", {"username": "viewer", "password": OPERATOR_PASSWORD}).status_code
        == 302
    )


def test_create_operator_makes_a_read_only_user(operator_user: Any) -> None:
    from dashboard.access import can_act

    assert operator_user.check_password(OPERATOR_PASSWORD)
    assert not operator_user.is_superuser and not operator_user.is_staff
    assert operator_user.groups.filter(name="operators").exists()
    assert not can_act(operator_user)


def test_the_webhook_stays_outside_the_console(client: Client) -> None:
    response = client.post("/webhooks/tradingview", data=b"{}", content_type="application/json")
    assert response.status_code in (400, 401, 422)  # answered by the webhook, not a login redirect


def test_secrets_are_never_rendered(admin_client: Client, book: dict[str, Any], settings: Any) -> None:
    from tests.factories import EventFactory

    EventFactory(category=Event.Category.WEBHOOK, message="webhook rejected (401): wrong or missing secret")
    assert config_service.webhook_secret(config_service.current()) == WEBHOOK_SECRET
    secrets = [WEBHOOK_SECRET, settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY]
    for url in pages(book):
        html = body(admin_client.get(url))
        for secret in secrets:
            assert secret not in html, url
    assert settings.FIELD_ENCRYPTION_KEY_SOURCE in body(admin_client.get("/status/"))
