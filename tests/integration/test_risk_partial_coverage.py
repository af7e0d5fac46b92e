"""Winners that cover only part of the loss (issue 4): with `partial_close_enabled` the same fraction of
the loser closes and it keeps its slot; without it nothing happens and the engine says why."""

from __future__ import annotations

import pytest

from risk.models import RiskAction
from trading.engine.queueing import pool_state
from trading.models import GroupStatus, Order, Trade

from .risk_world import (
    BTC_LEGS,
    BTC_LOSS_AT_36000,
    D,
    book,
    floor_to,
    group,
    next_cycle,
    one_level_ladder,
    open_qtys,
    risk_events,
    state,
)

pytestmark = pytest.mark.django_db

COVERED = D("99.5")  # ETH alone, 0.25 × (2400 − 2000) − 0.5
FRACTION = COVERED / -BTC_LOSS_AT_36000  # 0.8168 of the loss is covered


def test_partial_cover_closes_the_same_fraction_of_every_loser_leg_and_keeps_its_slot(driver, engine, clock):
    one_level_ladder()
    book(driver, sol=None)
    btc, eth = group("BTC/USDT"), group("ETH/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert (action.action, action.outcome) == ("partial", "executed")
    assert (action.required_usd, action.covered_usd) == (-BTC_LOSS_AT_36000, COVERED)
    loser = action.closes[0]
    assert (loser["group_id"], loser["full_close"], D(loser["fraction"])) == (btc.pk, False, FRACTION)
    # 81.68 % of each leg, floored to the 0.00001 step, so the pyramids keep their shape.
    closed = [floor_to(qty * FRACTION, "0.00001") for qty in BTC_LEGS]
    assert closed == [D("0.00379"), D("0.00388"), D("0.00397"), D("0.00408"), D("0.00418")]
    assert D(loser["qty"]) == sum(closed) == D("0.0199")
    assert open_qtys(btc) == [qty - part for qty, part in zip(BTC_LEGS, closed, strict=True)]
    assert action.reason == (
        f"loser #{btc.pk} (-12.19 %, -121.82 USD): winners cover 99.5 of 121.82 USD; "
        f"closing 81.68 % of it against #{eth.pk} in full"
    )

    btc_trade = Trade.objects.get(group=btc)
    # 0.0199 BTC closed at 36000: Σ (36000 − fill) × part = −98.52, less the parts' share of the
    # entry fees (Σ fill/1000 × part = 0.81492) and the exit fee 0.7164.
    assert (btc_trade.reason, btc_trade.qty) == ("risk", D("0.0199"))
    assert btc_trade.realized_pnl == D("-100.05132")
    btc.refresh_from_db()
    eth.refresh_from_db()
    assert (btc.status, eth.status) == (GroupStatus.ACTIVE, GroupStatus.CLOSED)
    assert pool_state(engine.ctx).used == 1  # BTC still holds its slot; ETH's is free


def test_without_partial_closes_a_partly_covered_loser_is_left_alone_and_the_reason_is_logged(driver, clock):
    one_level_ladder(partial_close_enabled=False)
    book(driver, sol=None)
    btc = group("BTC/USDT")

    next_cycle(driver, clock)

    assert not RiskAction.objects.exists()
    assert not Order.objects.filter(purpose="risk").exists()
    assert not Trade.objects.exists()
    why = f"loser #{btc.pk} (-12.19 %, -121.82 USD): winners cover only 99.5 of 121.82 USD and partial_close_enabled is off"
    assert (state().status, state().reason) == ("idle", why)
    assert risk_events()[-1] == f"risk cycle (interval): 1 eligible loser(s); plan none: {why}"
    assert open_qtys(btc) == BTC_LEGS


def test_without_partial_closes_winners_close_whole_even_beyond_the_loss(driver, clock):
    one_level_ladder(partial_close_enabled=False)
    book(driver)  # ETH +99.5 and SOL +49.5 cover 121.82 only with both whole
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert [(c["group_id"], c["full_close"], D(c["qty"])) for c in action.closes] == [
        (btc.pk, True, D("0.0244")),
        (eth.pk, True, D("0.25")),
        (sol.pk, True, D("5")),
    ]
    assert action.covered_usd == D("149")
    for grp in (btc, eth, sol):
        grp.refresh_from_db()
        assert grp.status == GroupStatus.CLOSED


def test_at_most_max_winners_to_combine_are_used(driver, clock):
    one_level_ladder(max_winners_to_combine=1)
    book(driver)  # SOL would cover the rest, but only the best winner may be combined
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert [c["group_id"] for c in action.closes] == [btc.pk, eth.pk]
    assert (action.action, action.covered_usd) == ("partial", COVERED)
    assert open_qtys(sol) == [D("5")]
