"""Every signal ends with an outcome and a readable reason; every decision is an event row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchanges.models import ExchangeAccount
from trading.models import Event, PositionGroup, QueueEntry, Signal, SignalStatus

from .engine_world import group_of

pytestmark = pytest.mark.django_db


def test_unknown_symbol_is_rejected_with_the_reason(driver):
    response = driver.webhook(symbol="FOOUSDT", trade_id="foo")
    assert response.status_code == 202  # accepted into the inbox; the engine judges it
    driver.tick()

    signal = Signal.objects.get(trade_id="foo")
    assert (signal.status, signal.reason) == (
        SignalStatus.REJECTED,
        "rejected: unknown symbol FOOUSDT on binance",
    )
    assert not PositionGroup.objects.exists()
    event = Event.objects.get(signal_id_ref=signal.pk, category="signal")
    assert event.severity == "warning"
    assert event.message.endswith("rejected: unknown symbol FOOUSDT on binance")


def test_unknown_symbol_held_on_stale_rules_is_rejected_once_they_refresh(driver, engine):
    ExchangeAccount.objects.update(markets_synced_at=engine.ctx.now() - timedelta(days=30))
    driver.send(symbol="FOOUSDT", trade_id="foo")
    assert Signal.objects.get(trade_id="foo").status == SignalStatus.QUEUED  # cannot tell yet

    engine.refresh_markets()
    driver.tick()
    signal = Signal.objects.get(trade_id="foo")
    assert (signal.status, signal.reason) == (
        SignalStatus.REJECTED,
        "rejected: unknown symbol FOOUSDT on binance",
    )
    assert not QueueEntry.objects.exists()
    assert not PositionGroup.objects.exists()


def test_flat_prev_position_while_a_group_is_live_warns_of_state_drift(driver):
    driver.send(price="43000", trade_id="open")
    group = group_of()
    driver.send(price="42900", trade_id="again", prev_market_position="flat")

    drift = Event.objects.get(message__contains="state drift")
    assert (drift.severity, drift.group_id_ref) == ("warning", group.pk)
    assert drift.message == "state drift: TradingView says it was flat, the engine holds a long group"
    assert Signal.objects.get(trade_id="again").status == SignalStatus.APPLIED  # a warning, not a refusal


def test_prev_position_long_with_nothing_held_warns_of_state_drift(driver):
    driver.send(price="43000", trade_id="open", prev_market_position="long")

    drift = Event.objects.get(message__contains="state drift")
    assert (
        drift.message == "state drift: TradingView says it was long, the engine holds nothing on this market"
    )


def test_matching_prev_position_raises_no_drift_warning(driver):
    driver.send(price="43000", trade_id="open", prev_market_position="flat")
    driver.send(price="42900", trade_id="p1", prev_market_position="long")

    assert not Event.objects.filter(message__contains="state drift").exists()


def test_every_decision_of_a_round_trip_is_an_event(driver):
    driver.send(price="43000", trade_id="open")
    group = group_of()
    signal = Signal.objects.get(trade_id="open")
    driver.price("BTCUSDT", "42780")
    driver.send(intent="exit", side=None, price="42780", trade_id="exit")

    messages = list(Event.objects.order_by("id").values_list("category", "message"))
    expected_in_order = [
        ("webhook", f"webhook signal BTCUSDT 15m: accepted as signal #{signal.pk}"),
        ("signal", f"opened group #{group.pk} BTC/USDT 15m long"),
        # The outcome commits with the group, before any order leaves (exactly once after a crash).
        ("signal", f"signal #{signal.pk} signal long BTCUSDT 15m: opened group #{group.pk}"),
        ("order", "entry order "),
        ("order", "DCA0 of P0 filled 0.00232 @ 43000"),
        ("order", "dca order "),
        ("order", "DCA1 of P0 filled 0.00233 @ 42785"),
        ("order", "exit close of 0.00465 BTC/USDT @ 42780"),
        ("signal", f"group #{group.pk} closed (exit signal #"),
    ]
    position = 0
    for category, prefix in expected_in_order:
        while position < len(messages) and not (
            messages[position][0] == category and messages[position][1].startswith(prefix)
        ):
            position += 1
        assert position < len(messages), f"no {category} event starting {prefix!r} in order"
    for signal in Signal.objects.all():
        assert signal.reason, f"signal #{signal.pk} has no reason"
        assert Event.objects.filter(signal_id_ref=signal.pk, category="signal").exists()


def test_the_same_alert_delivered_twice_trades_once(driver):
    sent_at = driver.engine.ctx.now().isoformat()
    driver.send(price="43000", trade_id="t1", timestamp=sent_at)
    driver.send(price="43000", trade_id="t1", timestamp=sent_at)  # TradingView's re-send

    assert group_of().pyramid_count == 1
    statuses = list(Signal.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [SignalStatus.APPLIED, SignalStatus.DUPLICATE]
