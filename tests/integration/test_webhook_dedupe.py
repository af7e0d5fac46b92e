"""TradingView re-sends: a re-send is acknowledged and ignored, never traded twice; stale alerts never trade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import configure, signal_payload
from trading.models import Event, Order, PositionGroup, Pyramid, Signal, SignalStatus

from .webhook_support import iso, post, trading_state

pytestmark = pytest.mark.django_db


def alert(**fields):
    """An alert as TradingView fills it: a trade id from {{strategy.order.id}}, a {{timenow}} stamp."""
    fields.setdefault("trade_id", "Long #1")
    fields.setdefault("timestamp", iso(datetime.now(UTC)))
    return signal_payload(**fields)


def test_same_alert_delivered_twice_is_answered_duplicate_and_logged(engine, client):
    payload = alert()
    first = post(client, payload)
    assert first.status_code == 202
    second = post(client, payload)
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "signal_id": first.json()["signal_id"]}
    duplicate = Signal.objects.get(status=SignalStatus.DUPLICATE)
    assert duplicate.reason == f"duplicate of signal #{first.json()['signal_id']}; ignored"
    assert Event.objects.filter(category="webhook", message__contains="duplicate of signal").count() == 1


def test_a_resent_alert_never_trades_twice_even_after_the_engine_ticks(driver, client):
    payload = alert()
    assert post(client, payload).status_code == 202
    driver.tick()
    once = trading_state()
    assert once["PositionGroup"] == 1 and once["Order"] > 0
    for _ in range(3):  # TradingView retries up to 3 more times
        assert post(client, payload).json()["status"] == "duplicate"
    driver.tick(3)
    assert trading_state() == once
    assert Signal.objects.filter(status=SignalStatus.APPLIED).count() == 1
    assert Signal.objects.filter(status=SignalStatus.DUPLICATE).count() == 3
    assert Pyramid.objects.count() == 1


def test_same_trade_id_timestamp_and_intent_is_a_duplicate_whatever_else_differs(driver, client):
    configure(security={"duplicate_window_seconds": 0})  # only the trade-id rule can catch it
    payload = alert()
    assert post(client, payload).status_code == 202
    resent = alert(
        trade_id=payload["strategy_info"]["trade_id"], timestamp=payload["timestamp"], price="43010"
    )
    response = post(client, resent)
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    driver.tick(2)
    assert PositionGroup.objects.count() == 1
    assert Signal.objects.filter(status=SignalStatus.APPLIED).count() == 1


def test_same_trade_id_is_not_a_duplicate_with_another_timestamp_or_intent(engine, client):
    stamp = datetime.now(UTC)
    assert post(client, alert(timestamp=iso(stamp))).status_code == 202
    assert post(client, alert(timestamp=iso(stamp + timedelta(minutes=15)))).status_code == 202
    exit_alert = alert(timestamp=iso(stamp), intent="exit", side=None)
    assert post(client, exit_alert).status_code == 202
    assert Signal.objects.filter(status=SignalStatus.RECEIVED).count() == 3


def test_trade_id_duplicate_holds_beyond_the_identical_payload_window(engine, client):
    payload = alert()
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        assert post(client, payload).status_code == 202
        traveller.shift(timedelta(hours=2))
        assert post(client, payload).json()["status"] == "duplicate"


def test_identical_payload_within_the_window_is_a_duplicate(engine, client):
    payload = signal_payload()  # no trade id: only the window can tell a re-send
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        assert post(client, payload).status_code == 202
        traveller.shift(timedelta(seconds=29))
        response = post(client, payload)
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"


def test_identical_payload_outside_the_window_is_a_new_signal(engine, client):
    payload = signal_payload()
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        assert post(client, payload).status_code == 202
        traveller.shift(timedelta(seconds=31))  # the default window is 30 s
        response = post(client, payload)
    assert response.status_code == 202
    assert Signal.objects.filter(status=SignalStatus.RECEIVED).count() == 2


def test_duplicate_window_is_configurable(engine, client):
    payload = signal_payload()
    configure(security={"duplicate_window_seconds": 120})
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        assert post(client, payload).status_code == 202
        traveller.shift(timedelta(seconds=90))
        assert post(client, payload).json()["status"] == "duplicate"


def test_zero_duplicate_window_turns_the_identical_payload_check_off(engine, client):
    configure(security={"duplicate_window_seconds": 0})
    payload = signal_payload()
    with time_machine.travel(datetime.now(UTC), tick=False):  # even at the very same instant
        assert post(client, payload).status_code == 202
        assert post(client, payload).status_code == 202


def test_different_payload_within_the_window_is_not_a_duplicate(engine, client):
    assert post(client, signal_payload(price="43000")).status_code == 202
    assert post(client, signal_payload(price="43001")).status_code == 202


def test_stale_signal_is_stored_rejected_with_the_reason_and_never_traded(driver, client):
    configure(security={"max_signal_lag_seconds": 60})
    sent = datetime.now(UTC) - timedelta(seconds=120)
    response = post(client, alert(timestamp=iso(sent)))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "rejected"
    assert "stale" in body["reason"]
    signal = Signal.objects.get()
    assert signal.status == SignalStatus.REJECTED
    assert "stale" in signal.reason and "limit 60 s" in signal.reason
    driver.tick(2)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.REJECTED
    assert PositionGroup.objects.count() == 0
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "stamp",
    [
        lambda sent: str(int(sent.timestamp())),  # epoch seconds
        lambda sent: str(int(sent.timestamp() * 1000)),  # epoch milliseconds ({{timenow}} in some scripts)
        lambda sent: sent.strftime("%Y-%m-%dT%H:%M:%S"),  # naive ISO means UTC
    ],
    ids=["epoch-s", "epoch-ms", "naive-iso"],
)
def test_stale_check_reads_every_timestamp_spelling(engine, client, stamp):
    configure(security={"max_signal_lag_seconds": 60})
    response = post(client, alert(timestamp=stamp(datetime.now(UTC) - timedelta(minutes=5))))
    assert response.json()["status"] == "rejected"
    assert "stale" in Signal.objects.get().reason


def test_recent_signal_is_not_stale(engine, client):
    configure(security={"max_signal_lag_seconds": 60})
    response = post(client, alert(timestamp=iso(datetime.now(UTC) - timedelta(seconds=10))))
    assert response.status_code == 202
    assert Signal.objects.get().status == SignalStatus.RECEIVED


def test_zero_lag_turns_the_stale_check_off(engine, client):
    configure(security={"max_signal_lag_seconds": 0})
    response = post(client, alert(timestamp=iso(datetime.now(UTC) - timedelta(days=2))))
    assert response.status_code == 202


def test_resent_stale_alert_is_a_duplicate_not_a_second_rejection(engine, client):
    configure(security={"max_signal_lag_seconds": 60})
    payload = alert(timestamp=iso(datetime.now(UTC) - timedelta(minutes=5)))
    assert post(client, payload).json()["status"] == "rejected"
    assert post(client, payload).json()["status"] == "duplicate"
    assert Signal.objects.filter(status=SignalStatus.REJECTED).count() == 1
