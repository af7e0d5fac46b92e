"""Every console action inserts one pending Command (like the API) and shows it as pending; the
console itself never changes trading state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from dashboard.models import UserPreference
from trading import config_service
from trading.models import (
    Command,
    CommandStatus,
    DcaLeg,
    Event,
    Order,
    PositionGroup,
    QueueEntry,
    Signal,
    SignalStatus,
)

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import actions, body

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _trading_state() -> list[Any]:
    return [
        list(PositionGroup.objects.order_by("pk").values()),
        list(DcaLeg.objects.order_by("pk").values()),
        list(Order.objects.order_by("pk").values()),
        list(QueueEntry.objects.order_by("pk").values()),
    ]


def test_each_action_inserts_the_right_pending_command(
    admin_client: Client, admin_user: Any, book: dict[str, Any]
) -> None:
    before = _trading_state()
    for url, data, kind, args in actions(book):
        if kind is None:
            continue
        start = datetime.now(UTC)
        response = admin_client.post(url, data, headers=HTMX)
        assert response.status_code == 200, url
        command = Command.objects.order_by("-id").first()
        assert command is not None and command.kind == kind, url
        assert command.args == args, url
        assert command.status == CommandStatus.PENDING
        assert command.created_by == admin_user
        assert start - timedelta(seconds=1) <= command.created_at <= datetime.now(UTC)
        # The answer shows the command as pending (out-of-band into the command strip).
        html = body(response)
        assert 'id="my-commands"' in html and "Pending" in html and f"#{command.pk} {kind}" in html
    assert Command.objects.count() == sum(1 for a in actions(book) if a[2] is not None)
    assert _trading_state() == before  # only the engine changes trading state


def test_closing_marks_the_row_as_closing_until_the_engine_applies_it(
    admin_client: Client, book: dict[str, Any]
) -> None:
    group = book["group"]
    html = body(admin_client.post(f"/positions/{group.pk}/close/", headers=HTMX))
    assert f'id="group-actions-{group.pk}"' in html and "hx-swap-oob" in html and "closing" in html
    table = body(admin_client.get("/positions/"))
    assert "⏳ closing" in table
    assert f'hx-post="/positions/{group.pk}/close/"' not in table  # no second close while pending
    Command.objects.update(status=CommandStatus.APPLIED, applied_at=datetime.now(UTC))
    assert "⏳ closing" not in body(admin_client.get("/positions/"))


def test_closing_a_closed_group_is_refused(admin_client: Client, book: dict[str, Any]) -> None:
    PositionGroup.objects.filter(pk=book["group"].pk).update(status="closed")
    assert admin_client.post(f"/positions/{book['group'].pk}/close/").status_code == 409
    assert not Command.objects.exists()


def test_actions_on_unknown_targets_are_404(admin_client: Client, book: dict[str, Any]) -> None:
    for url in (
        "/positions/999999/close/",
        "/queue/999999/promote/",
        "/risk/999999/block/",
        "/queue/1/explode/",
    ):
        assert admin_client.post(url).status_code == 404, url
    assert not Command.objects.exists()


def test_actions_need_post(admin_client: Client, book: dict[str, Any]) -> None:
    for url, _, _, _ in actions(book):
        assert admin_client.get(url).status_code == 405, url


def test_pending_queue_and_risk_commands_are_badged(admin_client: Client, book: dict[str, Any]) -> None:
    entry, group = book["entry"], book["group"]
    html = body(admin_client.post(f"/queue/{entry.pk}/promote/", headers=HTMX))
    assert f'id="queue-actions-{entry.pk}"' in html and "⏳ promote" in html
    assert "⏳ promote" in body(admin_client.get("/queue/"))
    html = body(admin_client.post(f"/risk/{group.pk}/block/", headers=HTMX))
    assert f'id="risk-actions-{group.pk}"' in html and "⏳ block" in html


def test_pause_shows_pending_on_the_banner(admin_client: Client, book: dict[str, Any]) -> None:
    html = body(admin_client.post("/engine/pause/", headers=HTMX))
    assert "pause pending" in html and 'id="stats"' in html and 'id="engine-badge"' in html


def test_acknowledging_an_alert_is_a_console_write_not_a_command(
    admin_client: Client, book: dict[str, Any]
) -> None:
    alert = book["alert"]
    assert "order rejected by binance" in body(admin_client.get("/"))
    html = body(admin_client.post(f"/alerts/{alert.pk}/ack/", headers=HTMX))
    assert 'id="alerts"' in html and "order rejected by binance" not in html
    alert.refresh_from_db()
    assert alert.acknowledged
    assert not Command.objects.exists()


def test_replay_is_off_unless_configured(admin_client: Client, book: dict[str, Any]) -> None:
    signals = Signal.objects.count()
    assert admin_client.post(f"/logs/replay/{book['signal'].pk}/").status_code == 403
    assert Signal.objects.count() == signals
    assert "/logs/replay/" not in body(admin_client.get("/logs/"))


def test_replay_inserts_a_new_received_signal_copying_the_payload(
    admin_client: Client, book: dict[str, Any]
) -> None:
    config_service.update({"security": {"allow_webhook_replay": True}}, source="test")
    original = book["signal"]
    assert f'hx-post="/logs/replay/{original.pk}/"' in body(admin_client.get("/logs/"))
    response = admin_client.post(f"/logs/replay/{original.pk}/", headers=HTMX)
    assert response.status_code == 200
    copy = Signal.objects.order_by("-id").first()
    assert copy.pk != original.pk and copy.replay_of_id == original.pk
    assert copy.status == SignalStatus.RECEIVED and copy.processed_at is None and copy.dedupe_key is None
    for name in (
        "payload",
        "symbol",
        "raw_symbol",
        "timeframe",
        "intent",
        "side",
        "entry_price",
        "order_size",
    ):
        assert getattr(copy, name) == getattr(original, name), name
    assert f"replayed as #{copy.pk}" in body(response)
    assert Event.objects.filter(message__contains=f"replayed as signal #{copy.pk}").exists()
    assert not Command.objects.exists()


def test_every_role_may_switch_its_own_theme(operator_client: Client, operator_user: Any) -> None:
    assert 'data-theme="dark"' in body(operator_client.get("/"))  # ui.theme default
    response = operator_client.post("/preferences/theme/", {"theme": "light"}, headers=HTMX)
    assert response.status_code == 200
    assert '"themeChanged"' in response["HX-Trigger"] and "light" in response["HX-Trigger"]
    assert UserPreference.objects.get(user=operator_user).theme == "light"
    assert 'data-theme="light"' in body(operator_client.get("/"))
    assert operator_client.post("/preferences/theme/", {"theme": "neon"}).status_code == 400
    assert not Command.objects.exists()


def test_the_theme_default_comes_from_config(admin_client: Client) -> None:
    config_service.update({"ui": {"theme": "light"}}, source="test")
    assert 'data-theme="light"' in body(admin_client.get("/"))
