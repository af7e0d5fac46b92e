"""Alert texts show numbers on the market's grid, as the console does: a take-profit target at the
market's tick, rounded toward its trigger (the engine keeps the exact target)."""

from __future__ import annotations

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
