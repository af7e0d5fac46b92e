"""Run Now (issue 4): `POST /api/v1/risk/run` runs one cycle at once through the command table,
ignoring the interval but not the rules; `force=true` also ignores the wait timer, and only it."""

from __future__ import annotations

import pytest

from risk.models import RiskAction
from trading.models import CommandStatus

from .risk_world import (
    BTC_PRICES,
    api,
    book,
    btc_pyramids,
    buy,
    group,
    one_level_ladder,
    post,
    risk_events,
    state,
)

pytestmark = pytest.mark.django_db


def test_run_now_acts_at_once_without_waiting_for_the_interval(driver, clock):
    one_level_ladder(evaluate_interval_sec=3600)
    book(driver)
    btc = group("BTC/USDT")
    command = post(api(), "/api/v1/risk/run")
    assert (command.kind, command.args) == ("risk_run", {"force": False})

    driver.tick()  # the clock has not moved: no scheduled cycle is due

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.outcome, action.forced) == (btc.pk, "executed", False)
    command.refresh_from_db()
    assert (command.status, command.result) == (
        CommandStatus.APPLIED,
        f"risk cycle ran: action #{action.pk} executed",
    )
    assert f"risk cycle (run now): 1 eligible loser(s); plan close: {action.reason}" in risk_events()


def test_run_now_keeps_the_rules(driver):
    one_level_ladder()
    book(driver, btc="38950")  # −4.99 %: above the −5 % threshold
    command = post(api(), "/api/v1/risk/run")

    driver.tick()

    command.refresh_from_db()
    assert command.result == "risk cycle ran: no action (no eligible loser)"
    assert not RiskAction.objects.exists()
    assert (state().status, state().reason) == ("idle", "no eligible loser")


def test_force_ignores_the_wait_timer(driver):
    one_level_ladder(post_full_wait_minutes=60)
    book(driver)
    client = api()
    plain = post(client, "/api/v1/risk/run")
    driver.tick()
    plain.refresh_from_db()
    assert plain.result == "risk cycle ran: no action (no eligible loser)"

    forced = post(client, "/api/v1/risk/run", {"force": True})
    assert forced.args == {"force": True}
    driver.tick()

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.forced) == (group("BTC/USDT").pk, True)
    forced.refresh_from_db()
    assert forced.result == f"risk cycle ran: action #{action.pk} executed"
    assert f"risk cycle (run now (forced)): 1 eligible loser(s); plan close: {action.reason}" in risk_events()


def test_force_does_not_ignore_the_other_rules(driver, clock):
    one_level_ladder(post_full_wait_minutes=60)
    buy(driver, "ETHUSDT", "2000")
    btc_pyramids(driver, BTC_PRICES[:4])  # four pyramids only
    driver.price("BTCUSDT", "36000")
    driver.price("ETHUSDT", "2600")
    client = api()

    post(client, "/api/v1/risk/run", {"force": True})
    driver.tick()
    assert not RiskAction.objects.exists()

    buy(driver, "BTCUSDT", "39000", size="200", trade_id="btc4")
    driver.price("BTCUSDT", "38950")  # five pyramids now, but the loss is only −4.99 %
    post(client, "/api/v1/risk/run", {"force": True})
    driver.tick()
    assert not RiskAction.objects.exists()

    driver.price("BTCUSDT", "36000")
    post(client, "/api/v1/risk/run", {"force": True})
    driver.tick()
    assert RiskAction.objects.get().forced is True
