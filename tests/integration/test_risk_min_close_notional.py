"""A winner's close below `min_close_notional` is not sent and that winner is skipped (issue 4); the
next winner in line covers the rest."""

from __future__ import annotations

import pytest

from risk.models import RiskAction
from trading.models import Order

from .risk_world import (
    D,
    book,
    buy,
    group,
    next_cycle,
    one_level_ladder,
    open_qtys,
    risk_events,
)

pytestmark = pytest.mark.django_db


def test_a_winner_whose_needed_close_is_below_min_close_notional_is_skipped(driver, clock):
    one_level_ladder()  # min_close_notional 20 USD by default
    buy(driver, "LTCUSDT", "100")
    book(driver, eth="2482")  # ETH +120.0, SOL +49.5
    driver.price("LTCUSDT", "102.1")  # LTC +10.0
    btc, eth, sol, ltc = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT"), group("LTC/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    # ETH covers 120 of 121.81922. SOL would close 1.81922/49.5 of 5 SOL = 0.18 SOL, 19.80 USD: too
    # small. LTC, next in line, closes 18.19 % of 5 LTC = 0.909 LTC (92.81 USD).
    assert [(c["group_id"], c["full_close"], D(c["qty"])) for c in action.closes] == [
        (btc.pk, True, D("0.0244")),
        (eth.pk, True, D("0.25")),
        (ltc.pk, False, D("0.909")),
    ]
    assert action.covered_usd == D("121.818")  # 120 + 0.909 × 2.1 − 0.0909 entry fee share
    note = f"winner #{sol.pk} skipped: close notional 19.8 USD is below min_close_notional 20"
    assert action.reason.endswith(f"; {note}")
    assert any(note in message for message in risk_events())
    assert not Order.objects.filter(group=sol, purpose="risk").exists()
    assert open_qtys(sol) == [D("5")]
    assert open_qtys(ltc) == [D("4.091")]


def test_a_higher_min_close_notional_skips_a_winner_that_the_default_would_close(driver, clock):
    one_level_ladder(min_close_notional="300")
    book(driver)  # the SOL portion needed would be 2.25 SOL, 247.50 USD
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert [c["group_id"] for c in action.closes] == [btc.pk, eth.pk]
    assert (action.action, action.covered_usd) == ("partial", D("99.5"))
    assert (
        f"winner #{sol.pk} skipped: close notional 247.5 USD is below min_close_notional 300" in action.reason
    )
    assert open_qtys(sol) == [D("5")]
