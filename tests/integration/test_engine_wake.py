"""The engine is woken by what the web commits (a signal, a command), not only by its poll."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tests.conftest import signal_payload
from trading import wake
from trading.engine.wakeup import Waker, _connection_params, listen_postgres
from trading.models import Command

from .webhook_support import post


@pytest.fixture
def wake_ups():
    calls: list[int] = []

    def sender() -> None:
        calls.append(1)

    wake.connect(sender)
    yield calls
    wake.disconnect(sender)


@pytest.mark.django_db
def test_an_accepted_webhook_wakes_the_engine_once_committed(
    engine, client, wake_ups, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post(client, signal_payload(trade_id="wake")).status_code == 202
        assert wake_ups == []  # not before the commit: the engine would find nothing
    for callback in callbacks:
        callback()
    assert wake_ups == [1]


@pytest.mark.django_db
def test_a_rejected_webhook_wakes_nobody(engine, client, wake_ups, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, signal_payload(secret="wrong")).status_code == 401
    assert wake_ups == []


@pytest.mark.django_db
def test_an_operator_command_wakes_the_engine(engine, wake_ups, django_capture_on_commit_callbacks):
    from datetime import UTC, datetime

    with django_capture_on_commit_callbacks(execute=True):
        Command.objects.create(kind="pause", args={}, created_at=datetime.now(UTC))
    assert wake_ups == [1]


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's NOTIFY (SQLite has no server to notify through)")


@pytest.mark.django_db(transaction=True)
def test_postgres_notifies_engine_wake_when_a_signal_is_committed(client):
    _require_postgres()
    import psycopg

    from trading.bootstrap import prepare

    prepare(migrate=False)
    with psycopg.connect(**_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {wake.CHANNEL}")
        with transaction.atomic():
            Command.objects.create(kind="pause", args={}, created_at=_now())
            transaction.set_rollback(True)  # rolled back: no wake-up for what never happened
        assert list(listener.notifies(timeout=1.0, stop_after=1)) == []
        post(client, signal_payload(trade_id="notify", secret=_secret()))
        [notice] = list(listener.notifies(timeout=30.0, stop_after=1))
    assert (notice.channel, notice.payload) == (wake.CHANNEL, "trading_signal")


@pytest.mark.django_db(transaction=True)
def test_the_engine_listener_wakes_the_waker_on_postgres():
    _require_postgres()
    waker = Waker()
    woken = threading.Event()
    waker.attach(woken.set)
    stop = threading.Event()
    thread = listen_postgres(waker, stop)
    try:
        woken.wait(30)  # it wakes once when it starts listening (for what came meanwhile)
        woken.clear()
        Command.objects.create(kind="pause", args={}, created_at=_now())
        assert woken.wait(30)
    finally:
        stop.set()
        thread.join(timeout=30)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _secret() -> str:
    from trading import config_service

    return config_service.webhook_secret(config_service.current())
