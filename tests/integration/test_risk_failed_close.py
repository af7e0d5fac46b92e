"""A close that fails makes the risk action partial, with what did and did not execute (issue 4):
never silently."""

from __future__ import annotations

import pytest

from exchanges.core.adapter import InvalidOrder
from risk.models import RiskAction
from trading.core.clientid import Purpose
from trading.models import Event, GroupStatus, Order, OrderState, Trade

from .risk_world import (
    BTC_LEGS,
    D,
    api,
    book,
    group,
    install_scripted_venue,
    next_cycle,
    one_level_ladder,
    open_qtys,
    order_is,
    risk_report,
    state,
)

pytestmark = pytest.mark.django_db


def test_a_winner_close_the_exchange_rejects_is_reported_as_not_executed(driver, engine, clock):
    one_level_ladder()
    book(driver)
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")
    venue = install_scripted_venue(engine)
    venue.fail(order_is("SOL/USDT", Purpose.RISK), InvalidOrder("SOL/USDT: market closed for maintenance"))

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert action.outcome == RiskAction.Outcome.PARTIAL
    assert [(c["group_id"], c["sent"], c["error"]) for c in action.closes] == [
        (btc.pk, True, ""),
        (eth.pk, True, ""),
        (sol.pk, False, "SOL/USDT: market closed for maintenance"),
    ]
    assert [r.symbol for r in venue.requests] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert Order.objects.get(group=sol, purpose="risk").state == OrderState.REJECTED
    # What executed stays executed; what did not leaves the winner whole.
    assert set(Trade.objects.values_list("symbol", flat=True)) == {"BTC/USDT", "ETH/USDT"}
    assert open_qtys(sol) == [D("5")]
    sol.refresh_from_db()
    assert sol.status == GroupStatus.ACTIVE

    event = Event.objects.filter(category="risk").order_by("-id").first()
    assert (event.severity, event.group_id_ref) == ("error", btc.pk)
    assert event.message == (
        f"risk action #{action.pk} partial: loser #{btc.pk} (-121.82 USD) offset by "
        f"#{eth.pk} (99.5 USD), #{sol.pk} (22.28 USD); not executed: #{sol.pk}"
    )
    assert (state().status, state().reason) == ("active", f"risk action #{action.pk}: partial")
    [shown] = risk_report(api())["recent_actions"]
    assert shown["outcome"] == "partial"
    assert shown["realised_usd"] == {"loser": "-122.69762", "winners": "98.9", "net": "-23.79762"}


def test_a_loser_close_that_fails_sends_no_winner_close_and_says_so(driver, engine, clock):
    """Without the loser's close there is nothing to offset, so the winners are left alone."""
    one_level_ladder()
    book(driver)
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")
    eth_before, sol_before = open_qtys(eth), open_qtys(sol)
    venue = install_scripted_venue(engine)
    venue.fail(order_is("BTC/USDT", Purpose.RISK), InvalidOrder("BTC/USDT: rejected"), once=True)

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert action.outcome == RiskAction.Outcome.FAILED
    assert [(c["group_id"], c["role"], c["sent"]) for c in action.closes] == [
        (btc.pk, "loser", False),
        (eth.pk, "winner", False),
        (sol.pk, "winner", False),
    ]
    assert {c["error"] for c in action.closes[1:]} == {"not sent: the loser's close failed"}
    btc.refresh_from_db()
    assert (btc.status, open_qtys(btc)) == (GroupStatus.ACTIVE, BTC_LEGS)  # not stuck in Closing
    assert (open_qtys(eth), open_qtys(sol)) == (eth_before, sol_before)
    assert not Trade.objects.filter(reason="risk").exists()
    assert Event.objects.filter(
        group_id_ref=btc.pk, severity="error", message__contains="did not complete (BTC/USDT: rejected)"
    ).exists()
    assert Event.objects.filter(
        category="risk", message__endswith=f"not executed: #{btc.pk}, #{eth.pk}, #{sol.pk}"
    ).exists()


def test_when_every_close_fails_the_action_is_failed(driver, engine, clock):
    one_level_ladder()
    book(driver)
    venue = install_scripted_venue(engine)
    for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        venue.fail(order_is(symbol, Purpose.RISK), InvalidOrder("exchange offline"))

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert action.outcome == RiskAction.Outcome.FAILED
    assert [c["sent"] for c in action.closes] == [False, False, False]
    assert not Trade.objects.exists()
    assert state().reason == f"risk action #{action.pk}: failed"
