"""The risk engine offsets the worst loser with up to three winners' profit (issue 4, "Execution").

End to end: webhooks and paper prices build the book, one engine tick runs the cycle, and the
trades, realised PnL, pool slots, risk action record and Risk events show what it did.
"""

from __future__ import annotations

import pytest

from risk.models import RiskAction
from trading.engine.queueing import pool_state
from trading.models import GroupStatus, LegState, Order, Signal, SignalStatus, Trade

from ..conftest import configure
from .risk_world import (
    BTC_LEGS,
    BTC_LOSS_AT_36000,
    BTC_QTY,
    D,
    api,
    book,
    btc_pyramids,
    buy,
    group,
    next_cycle,
    one_level_ladder,
    open_qtys,
    risk_events,
    risk_report,
    state,
)

pytestmark = pytest.mark.django_db


def test_five_falling_pyramids_are_closed_in_full_against_the_rising_winners(driver, engine, clock):
    one_level_ladder()
    configure(execution_pool={"max_open_groups": 3})
    book(driver)  # BTC -121.81922 at 36000; ETH +99.5 at 2400; SOL +49.5 at 110
    buy(driver, "XRPUSDT", "0.5")  # the pool is full: XRP waits for a slot
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")
    assert Signal.objects.get(trade_id="XRPUSDT@0.5").status == SignalStatus.QUEUED
    assert btc.pyramid_count == 5
    assert open_qtys(btc) == BTC_LEGS
    assert not RiskAction.objects.exists()  # nothing acts until a cycle runs

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.action, action.outcome, action.forced) == (
        btc.pk,
        "close",
        "executed",
        False,
    )
    assert action.created_at == clock.current
    # ETH (+99.5) closes in full; SOL covers the last 22.31922 of 49.5: 45.09 % of 5 SOL = 2.2544,
    # floored to the 0.01 step.
    assert [(c["group_id"], c["role"], c["full_close"], D(c["qty"]), c["sent"]) for c in action.closes] == [
        (btc.pk, "loser", True, BTC_QTY, True),
        (eth.pk, "winner", True, D("0.25"), True),
        (sol.pk, "winner", False, D("2.25"), True),
    ]
    assert action.required_usd == -BTC_LOSS_AT_36000
    # Planned, before exit fees: ETH 99.5, SOL 2.25 × 10 − 0.5 × 2.25/5 = 22.275.
    assert action.covered_usd == D("121.775")
    assert action.net_usd == D("-0.04422")
    assert action.reason == (
        f"loser #{btc.pk} (-12.19 %, -121.82 USD) closed in full against #{eth.pk} in full, #{sol.pk} 45.09 %"
    )

    trades = {t.symbol: t for t in Trade.objects.filter(reason="risk")}
    assert set(trades) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    assert not Trade.objects.exclude(reason="risk").exists()
    # BTC: 878.4 − 999.22 − 0.99922 entry fees − 0.8784 exit fee.
    assert (trades["BTC/USDT"].qty, trades["BTC/USDT"].exit_price) == (BTC_QTY, D("36000"))
    assert trades["BTC/USDT"].realized_pnl == D("-122.69762")
    # ETH: 0.25 × 400 − 0.5 − 0.6.   SOL: 2.25 × 10 − 0.225 − 0.2475.
    assert (trades["ETH/USDT"].qty, trades["ETH/USDT"].realized_pnl) == (D("0.25"), D("98.9"))
    assert (trades["SOL/USDT"].qty, trades["SOL/USDT"].realized_pnl) == (D("2.25"), D("22.0275"))
    net = sum((t.realized_pnl for t in trades.values()), D(0))
    # Net = covered − required, less the three exit fees (0.8784 + 0.6 + 0.2475).
    assert net == action.covered_usd - action.required_usd - D("1.7259") == D("-1.77012")

    btc.refresh_from_db()
    eth.refresh_from_db()
    sol.refresh_from_db()
    assert (btc.status, btc.realized_pnl) == (GroupStatus.CLOSED, D("-122.69762"))
    assert btc.close_reason == "risk engine (loser)"
    assert set(btc.legs.values_list("state", flat=True)) == {LegState.CLOSED}
    assert (eth.status, eth.realized_pnl) == (GroupStatus.CLOSED, D("98.9"))
    # The partly closed winner stays open with the same leg, reduced, and keeps its slot.
    assert (sol.status, sol.realized_pnl, open_qtys(sol)) == (GroupStatus.ACTIVE, D("22.0275"), [D("2.75")])
    assert pool_state(engine.ctx).used == 1

    events = risk_events()
    assert events[-2] == f"risk cycle (interval): 1 eligible loser(s); plan close: {action.reason}"
    assert events[-1] == (
        f"risk action #{action.pk} executed: loser #{btc.pk} (-121.82 USD) offset by "
        f"#{eth.pk} (99.5 USD), #{sol.pk} (22.28 USD)"
    )
    assert (state().status, state().reason) == ("active", f"risk action #{action.pk}: executed")

    # The two freed slots are there for the next signal: XRP leaves the queue on the next tick.
    driver.tick()
    assert Signal.objects.get(trade_id="XRPUSDT@0.5").status == SignalStatus.APPLIED
    assert pool_state(engine.ctx).used == 2


def test_worked_example_loser_and_the_80_close_in_full_80_percent_of_the_50_the_10_untouched(driver, clock):
    one_level_ladder()
    # Winners at +80, +50 and +10 exactly: 0.25 ETH 2000 → 2322, 5 SOL 100 → 110.1, 5 LTC 100 → 102.1,
    # each less its 0.5 entry fee.
    buy(driver, "ETHUSDT", "2000")
    buy(driver, "SOLUSDT", "100")
    buy(driver, "LTCUSDT", "100")
    btc_pyramids(driver)
    driver.price("ETHUSDT", "2322")
    driver.price("SOLUSDT", "110.1")
    driver.price("LTCUSDT", "102.1")
    driver.price("BTCUSDT", "36074.55")  # 0.0244 × 36074.55 − 1000.21922 = −120.0002
    btc, eth, sol, ltc = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT"), group("LTC/USDT")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert action.required_usd == D("120.0002")
    closes = {c["group_id"]: c for c in action.closes}
    assert set(closes) == {btc.pk, eth.pk, sol.pk}  # the +10 winner is not touched
    assert (closes[btc.pk]["full_close"], D(closes[btc.pk]["qty"])) == (True, BTC_QTY)
    assert (closes[eth.pk]["full_close"], D(closes[eth.pk]["qty"])) == (True, D("0.25"))
    # 40.0002 still needed of +50: 80.0004 % of 5 SOL, floored to the step: 4 SOL = 80 %.
    assert (closes[sol.pk]["full_close"], D(closes[sol.pk]["qty"])) == (False, D("4"))
    assert D(closes[sol.pk]["fraction"]).quantize(D("0.000001")) == D("0.800004")
    # Planned USD: 80 + (4 × 10.1 − 0.4) = 120 against the 120.0002 loss.
    assert (action.covered_usd, action.net_usd) == (D("120"), D("-0.0002"))

    trades = {t.symbol: t.realized_pnl for t in Trade.objects.filter(reason="risk")}
    assert trades == {
        "BTC/USDT": D("-120.88041902"),  # −120.0002 − exit fee 0.88021902
        "ETH/USDT": D("79.4195"),  # 80 − 0.5805
        "SOL/USDT": D("39.5596"),  # 40 − 0.4404
    }
    assert open_qtys(sol) == [D("1")]
    assert (ltc.legs.get().open_qty, Order.objects.filter(group=ltc, purpose="risk").exists()) == (
        D("5"),
        False,
    )
    for grp, status in ((btc, "closed"), (eth, "closed"), (sol, "active"), (ltc, "active")):
        grp.refresh_from_db()
        assert grp.status == status, grp

    [shown] = risk_report(api())["recent_actions"]
    assert shown["realised_usd"] == {"loser": "-120.88041902", "winners": "118.9791", "net": "-1.90131902"}
