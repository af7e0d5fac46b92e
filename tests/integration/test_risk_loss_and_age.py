"""Activation rules 3 and 4 (issue 4): the loss must reach `loss_threshold_percent`, and with
`use_trade_age_filter` the group must be at least `age_threshold_minutes` old (from its first entry)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from risk.models import RiskAction
from trading.models import Order

from .risk_world import (
    BTC_COST,
    BTC_ENTRY_FEES,
    BTC_QTY,
    D,
    api,
    book,
    group,
    next_cycle,
    one_level_ladder,
    risk_report,
    row,
)

pytestmark = pytest.mark.django_db


def loss_at(price: str) -> tuple[D, D]:
    """BTC's unrealised USD and loss % at `price`: Σ (price − fill) × qty − entry fees, ÷ cost."""
    usd = BTC_QTY * D(price) - BTC_COST - BTC_ENTRY_FEES
    return usd, usd / BTC_COST * 100


def test_a_loss_just_above_the_threshold_is_not_eligible_and_at_it_is(driver, clock):
    one_level_ladder()
    book(driver, btc="38950", sol=None)
    btc = group("BTC/USDT")
    usd, percent = loss_at("38950")
    assert (usd, percent.quantize(D("0.0001"))) == (D("-49.83922"), D("-4.9878"))

    next_cycle(driver, clock)

    shown = row(risk_report(api()), btc)
    assert (D(shown["unrealised_usd"]), D(shown["loss_percent"])) == (usd, percent)
    assert shown["reasons"] == ["loss -4.99 % is above the threshold -5 %"]
    assert not RiskAction.objects.exists()

    driver.price("BTCUSDT", "38940")
    usd, percent = loss_at("38940")
    assert (usd, percent.quantize(D("0.0001"))) == (D("-50.08322"), D("-5.0122"))
    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.required_usd) == (btc.pk, -usd)
    # ETH's +99.5 covers 50.08322: 50.34 % of 0.25 ETH = 0.12584, floored to 0.0001.
    assert [(c["group_id"], D(c["qty"])) for c in action.closes][1] == (group("ETH/USDT").pk, D("0.1258"))


def test_the_loss_threshold_comes_from_the_config(driver, clock):
    one_level_ladder(loss_threshold_percent="-15")
    book(driver)  # BTC at −12.19 %

    next_cycle(driver, clock)

    assert row(risk_report(api()), group("BTC/USDT"))["reasons"] == [
        "loss -12.19 % is above the threshold -15 %"
    ]
    assert not Order.objects.filter(purpose="risk").exists()


def test_with_the_age_filter_a_group_must_be_old_enough(driver, clock):
    one_level_ladder(use_trade_age_filter=True, age_threshold_minutes=200)
    opened = clock.current
    book(driver)
    btc = group("BTC/USDT")
    assert btc.opened_at == opened

    next_cycle(driver, clock, seconds=199 * 60 + 50)

    shown = row(risk_report(api()), btc)
    assert (shown["age_ok"], shown["eligible"]) == (False, False)
    assert shown["reasons"] == ["age 199 min 50 s is under 200 min"]
    assert not RiskAction.objects.exists()

    next_cycle(driver, clock)  # 200 min after the first entry

    assert RiskAction.objects.get().loser_group_id == btc.pk
    assert clock.current - opened == timedelta(minutes=200)


def test_without_the_age_filter_a_young_group_is_eligible(driver, clock):
    one_level_ladder(age_threshold_minutes=200)  # use_trade_age_filter is off by default
    book(driver)

    next_cycle(driver, clock)

    [shown] = risk_report(api())["recent_actions"]
    assert shown["loser_group_id"] == group("BTC/USDT").pk
