"""A stop request ends the engine's work between steps, never inside one (each step commits)."""

from __future__ import annotations

import pytest

from trading.engine import intake
from trading.models import Signal, SignalStatus

pytestmark = pytest.mark.django_db


def statuses() -> list[str]:
    return list(Signal.objects.order_by("id").values_list("status", flat=True))


def test_a_stop_request_ends_a_batch_of_signals_between_two_signals(driver, engine):
    for n in range(3):
        assert driver.webhook(symbol="ETHUSDT", price=str(2000 + n), trade_id=f"t{n}").status_code == 202
    answers = iter([False, True])

    applied = intake.apply_pending(engine.ctx, stop=lambda: next(answers, True))

    assert applied == 1
    assert statuses() == [SignalStatus.APPLIED, SignalStatus.RECEIVED, SignalStatus.RECEIVED]


def test_a_tick_after_a_stop_request_applies_no_signal(driver, engine):
    assert driver.webhook(price="43000").status_code == 202
    engine.stopping.set()

    report = engine.tick()

    assert report.signals == 0
    assert statuses() == [SignalStatus.RECEIVED]  # left in the inbox for the next start
