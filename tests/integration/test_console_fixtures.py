"""Shared world of the console tests (fixtures only; the test_console_* modules import them).

An admin (superuser), a read-only operator made by `create_operator`, logged-in clients for both,
and a small book: an open BTC group with a filled DCA0 and a paper price, a queued entry, an
unacknowledged error alert and a stored webhook signal.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from exchanges.paper_models import PaperPrice
from tests.factories import (
    T0,
    EventFactory,
    PositionGroupFactory,
    PyramidFactory,
    QueueEntryFactory,
    SignalFactory,
    build_ladder,
    fill_leg,
    reset_config,
)
from trading.models import Event

OPERATOR_PASSWORD = "operator-pass-4711"
WEBHOOK_SECRET = "console-test-webhook-secret"


@pytest.fixture(autouse=True)
def fresh_console_config(db: Any) -> None:
    reset_config()
    from trading import config_service

    config_service.update({"security": {"webhook_secret": WEBHOOK_SECRET}}, source="test")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pass-4711")


@pytest.fixture
def operator_user(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(os.environ, "DJANGO_OPERATOR_PASSWORD", OPERATOR_PASSWORD)
    call_command("create_operator", "viewer", "--noinput", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return get_user_model().objects.get(username="viewer")


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def operator_client(operator_user: Any) -> Client:
    client = Client()
    client.force_login(operator_user)
    return client


@pytest.fixture
def book(db: Any) -> dict[str, Any]:
    """One open long BTC group (DCA0 filled at 43000, price 42570), one queued entry, one alert."""
    group = PositionGroupFactory(symbol="BTC/USDT", timeframe="15", pyramid_count=1)
    pyramid = PyramidFactory(group=group, base_price=Decimal("43000"), size_amount=Decimal("500"))
    legs = build_ladder(pyramid)
    fill_leg(legs[0])
    group.status = "partially_filled"
    group.save(update_fields=["status"])
    PaperPrice.objects.create(account=group.account, symbol="BTC/USDT", price=Decimal("42570"), updated_at=T0)
    entry = QueueEntryFactory(signal__symbol="ETH/USDT", signal__raw_symbol="ETHUSDT", signal__timeframe="60")
    alert = EventFactory(
        category=Event.Category.ORDER,
        severity=Event.Severity.ERROR,
        message="order rejected by binance: -2010",
    )
    signal = SignalFactory(payload={"secret": "***", "tv": {"symbol": "BTCUSDT"}}, timeframe="240")
    webhook_event = EventFactory(
        category=Event.Category.WEBHOOK,
        message=f"webhook accepted as signal #{signal.pk}",
        signal_id_ref=signal.pk,
    )
    return {
        "group": group,
        "legs": legs,
        "entry": entry,
        "alert": alert,
        "signal": signal,
        "webhook_event": webhook_event,
    }


def pages(book: dict[str, Any]) -> list[str]:
    group = book["group"].pk
    return [
        "/",
        "/positions/",
        f"/positions/{group}/",
        f"/positions/{group}/legs/",
        "/risk/",
        "/queue/",
        "/logs/",
        "/status/",
        "/logs/export.txt",
        "/logs/export.csv",
        "/logs/export.json",
    ]


def actions(book: dict[str, Any]) -> list[tuple[str, dict[str, str], str | None, dict[str, Any]]]:
    """(url, form data, command kind or None for a console-side write, command args)."""
    group, entry = book["group"].pk, book["entry"].pk
    return [
        ("/engine/pause/", {}, "pause", {}),
        ("/engine/resume/", {}, "resume", {}),
        (f"/positions/{group}/close/", {}, "close_group", {"group_id": group}),
        ("/risk/run/", {}, "risk_run", {"force": False}),
        ("/risk/run/", {"force": "1"}, "risk_run", {"force": True}),
        (f"/risk/{group}/skip/", {}, "risk_skip", {"group_id": group}),
        (f"/risk/{group}/block/", {}, "risk_block", {"group_id": group}),
        (f"/risk/{group}/unblock/", {}, "risk_unblock", {"group_id": group}),
        (f"/queue/{entry}/promote/", {}, "queue_promote", {"entry_id": entry}),
        (f"/queue/{entry}/remove/", {}, "queue_remove", {"entry_id": entry}),
        (f"/queue/{entry}/force/", {}, "queue_force", {"entry_id": entry}),
        ("/status/refresh-markets/", {}, "refresh_markets", {}),
        (
            f"/status/accounts/{book['group'].account.label}/clear-block/",
            {},
            "clear_account_block",
            {"account": "paper"},
        ),
        (f"/alerts/{book['alert'].pk}/ack/", {}, None, {}),
        ("/alerts/ack-all/", {}, None, {}),
        (f"/logs/replay/{book['signal'].pk}/", {}, None, {}),
    ]


def body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()
