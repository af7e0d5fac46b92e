"""When the risk engine runs (issue 4): one action per cycle, then a fresh evaluation on the next
cycle (`evaluate_interval_sec`) and, with `evaluate_on_fill`, right after a fill."""

from __future__ import annotations

import pytest

from exchanges.core.adapter import OrderStatus
from risk.models import RiskAction
from trading.models import GroupStatus, LegState

from ..conftest import configure
from .engine_world import paper_account
from .risk_world import (
    TWO_LEVELS,
    D,
    btc_pyramids,
    buy,
    group,
    next_cycle,
    one_level_ladder,
    open_qtys,
    risk_events,
    two_losers,
)

pytestmark = pytest.mark.django_db


def test_one_action_per_cycle_the_worst_percent_first_then_the_next_loser(driver, clock):
    one_level_ladder()
    configure(risk_engine={"evaluate_on_fill": False})  # cycles on the interval only, one per step
    two_losers(driver)
    btc, eth, sol, ltc = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT"), group("LTC/USDT")

    next_cycle(driver, clock)

    # LTC goes first: −15.1 % is the lower percent, though BTC's USD loss is larger.
    first = RiskAction.objects.get()
    assert (first.loser_group_id, first.required_usd) == (ltc.pk, D("75.5"))
    # SOL (+149.5) is the biggest winner: 75.5/149.5 of 5 SOL = 2.525, floored to 2.52.
    assert [(c["group_id"], D(c["qty"])) for c in first.closes] == [(ltc.pk, D("5")), (sol.pk, D("2.52"))]
    assert risk_events()[-2].startswith("risk cycle (interval): 2 eligible loser(s); plan close:")
    btc.refresh_from_db()
    assert btc.status == GroupStatus.ACTIVE  # still eligible, left for the next cycle
    driver.tick()  # no cycle is due within the interval: nothing more happens
    assert RiskAction.objects.count() == 1

    next_cycle(driver, clock)

    second = RiskAction.objects.first()
    assert (second.loser_group_id, second.required_usd) == (btc.pk, D("121.81922"))
    # ETH +99.5 in full, then what is left of SOL (2.48 SOL, +74.152): 30.1 % of it = 0.74 SOL.
    assert [(c["group_id"], c["full_close"], D(c["qty"])) for c in second.closes] == [
        (btc.pk, True, D("0.0244")),
        (eth.pk, True, D("0.25")),
        (sol.pk, False, D("0.74")),
    ]
    assert open_qtys(sol) == [D("1.74")]

    next_cycle(driver, clock)
    assert RiskAction.objects.count() == 2


# Ten legs of about 100 USDT: DCA0s 0.00232 @ 43000 … 0.00256 @ 39000, DCA1s 0.00234 @ 42570 …
# 0.00259 @ 38610: 0.0245 BTC for 998.2391, fees 0.9982391. At 36000: 882 − 998.2391 − 0.9982391.
TWO_LEVEL_LOSS_AT_36000 = D("-117.2373391")


def _btc_waiting_for_its_last_leg(driver) -> None:
    """Two-level ladders; the timer starts when every leg has filled (no wait after that). On the way
    down every DCA1 fills except the fifth pyramid's, resting at 38610."""
    configure(
        grid_strategy={"dca_levels": TWO_LEVELS},
        risk_engine={"timer_start_condition": "after_all_dca_filled", "post_full_wait_minutes": 0},
    )
    buy(driver, "ETHUSDT", "2000")
    btc_pyramids(driver)
    driver.price("ETHUSDT", "2600")
    driver.price("BTCUSDT", "38700")


def _fill_on_the_exchange(engine) -> None:
    """The exchange's price falls through the resting leg; the engine learns of it on its next sync."""
    [report] = engine.ctx.adapter(paper_account()).set_price("BTC/USDT", D("36000"))
    assert (report.status, report.filled_qty) == (OrderStatus.FILLED, D("0.00259"))


def test_a_fill_triggers_a_cycle_at_once_with_evaluate_on_fill(driver, engine, clock):
    configure(risk_engine={"evaluate_interval_sec": 3600})
    _btc_waiting_for_its_last_leg(driver)
    btc = group("BTC/USDT")
    next_cycle(driver, clock, seconds=3600)
    assert not RiskAction.objects.exists()

    _fill_on_the_exchange(engine)
    report = driver.tick()  # the clock has not moved: only the fill can trigger this cycle

    assert report.orders_synced == 1
    assert btc.legs.get(pyramid__index=4, index=1).state == LegState.FILLED
    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.created_at) == (btc.pk, clock.current)
    assert action.required_usd == -TWO_LEVEL_LOSS_AT_36000
    assert report.risk_actions == 1
    assert risk_events()[-2].startswith("risk cycle (fill): 1 eligible loser(s); plan ")


def test_without_evaluate_on_fill_the_fill_waits_for_the_interval(driver, engine, clock):
    configure(risk_engine={"evaluate_interval_sec": 3600, "evaluate_on_fill": False})
    _btc_waiting_for_its_last_leg(driver)
    next_cycle(driver, clock, seconds=3600)

    _fill_on_the_exchange(engine)
    driver.tick()
    next_cycle(driver, clock, seconds=3599)
    assert not RiskAction.objects.exists()

    next_cycle(driver, clock, seconds=1)

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.required_usd) == (group("BTC/USDT").pk, -TWO_LEVEL_LOSS_AT_36000)
    assert risk_events()[-2].startswith("risk cycle (interval): 1 eligible loser(s); plan ")


def test_a_fill_booked_by_a_paper_price_command_also_triggers_a_cycle_at_once(driver, engine, clock):
    """The command books the fill itself, so the tick's own order sync sees nothing new: the
    engine must count fills where they are booked, not only in its sync step."""
    configure(risk_engine={"evaluate_interval_sec": 3600})
    _btc_waiting_for_its_last_leg(driver)
    next_cycle(driver, clock, seconds=3600)
    assert not RiskAction.objects.exists()

    driver.price("BTCUSDT", "36000")  # the clock has not moved: only the fill can trigger a cycle

    assert group("BTC/USDT").legs.get(pyramid__index=4, index=1).state == LegState.FILLED
    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.created_at) == (group("BTC/USDT").pk, clock.current)
    assert any(e.startswith("risk cycle (fill): 1 eligible loser(s); plan partial") for e in risk_events())
