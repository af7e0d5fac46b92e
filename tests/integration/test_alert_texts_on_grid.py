"""Alert texts show numbers on the market's grid, as the console does: a take-profit target at the
market's tick, rounded toward its trigger (the engine keeps the exact target)."""

from __future__ import annotations

import re

import pytest

from trading.models import Event

from ..conftest import configure
from .engine_world import D, group_of, leg

pytestmark = pytest.mark.django_db


def test_a_fill_alert_shows_the_take_profit_target_on_the_tick(driver):
    # DCA0 fills at 42998.5; its 0.5 % TP is 43213.4925, which a long first reaches at 43213.50.
    configure(
        grid_strategy={"dca_levels": [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "0.5"}]}
    )
    driver.price("BTCUSDT", "42998.5")
    driver.send(price="42998.5")
    group = group_of()
    assert leg(group, 0).tp_price == D("43213.4925")  # exact, as the engine evaluates it
    message = Event.objects.filter(message__contains="DCA0 of P0 filled").get().message
    assert message.endswith("TP at 43213.50")


def test_a_close_alert_shows_realised_pnl_in_cents(driver):
    # 500 USDT at 42998.5 buys 0.01162 BTC (step 0.00001); its TP fills at 43213.50 (tick 0.01):
    # 0.01162 × 215.00 = 2.4983 USDT before fees, so every figure has more than two decimals.
    configure(
        grid_strategy={"dca_levels": [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "0.5"}]}
    )
    driver.price("BTCUSDT", "42998.5")
    driver.send(price="42998.5")
    driver.price("BTCUSDT", "43300")
    driver.tick(2)
    group = group_of()
    assert group.realized_pnl is not None and group.realized_pnl != group.realized_pnl.quantize(D("0.01"))
    closed = Event.objects.filter(message__contains=f"group #{group.pk} closed").get().message
    cents = f"{group.realized_pnl.quantize(D('0.01')):f}"
    assert f"realised {cents} USDT" in closed
    take_profit = Event.objects.filter(message__contains="close of").first().message
    assert re.search(r"realised -?\d+\.\d\d USDT$", take_profit), take_profit
