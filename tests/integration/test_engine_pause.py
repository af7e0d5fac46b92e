"""Pause: new signals wait in the inbox while fills and take-profit go on; resume applies them in order."""

from __future__ import annotations

import pytest

from trading.models import Command, EngineState, LegState, PositionGroup, Signal, SignalStatus, Trade

from .engine_world import group_of, leg

pytestmark = pytest.mark.django_db


def command(driver, kind: str) -> Command:
    cmd = Command.objects.create(kind=kind, created_at=driver.engine.ctx.now())
    driver.tick()
    cmd.refresh_from_db()
    return cmd


def test_paused_engine_keeps_signals_in_the_inbox_until_resumed(driver):
    assert command(driver, "pause").status == "applied"
    assert EngineState.objects.get(pk=1).status == EngineState.Status.PAUSED

    driver.send(price="43000", trade_id="a")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="b")
    driver.tick(3)
    assert set(Signal.objects.values_list("status", flat=True)) == {SignalStatus.RECEIVED}
    assert not PositionGroup.objects.exists()

    assert command(driver, "resume").status == "applied"
    assert EngineState.objects.get(pk=1).status == EngineState.Status.RUNNING
    assert list(Signal.objects.order_by("id").values_list("trade_id", "status")) == [
        ("a", SignalStatus.APPLIED),
        ("b", SignalStatus.APPLIED),
    ]
    assert PositionGroup.objects.count() == 2


def test_fills_and_take_profit_go_on_while_paused(driver):
    driver.send(price="43000")
    group = group_of()
    command(driver, "pause")

    driver.price("BTCUSDT", "42780")
    assert leg(group, 1).state == LegState.FILLED
    driver.price("BTCUSDT", "42999")
    assert leg(group, 1).state == LegState.HIT_TP
    assert Trade.objects.get().reason == "tp_leg"
