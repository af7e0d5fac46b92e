"""Precision: rules on the venue grid, stale rules hold entries, pre-flight merges legs, zero rejections."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchanges.models import ExchangeAccount
from exchanges.paper_models import PaperOrder
from trading.models import Event, LegState, Order, PositionGroup, QueueEntry, Signal, SignalStatus

from .engine_world import D, group_of, legs_of, pyramid_of, seed_paper_balance

pytestmark = pytest.mark.django_db


def test_stale_market_rules_hold_the_entry_in_the_queue_until_they_refresh(driver, engine):
    ExchangeAccount.objects.update(markets_synced_at=engine.ctx.now() - timedelta(days=30))
    driver.send(price="43000", trade_id="held")

    signal = Signal.objects.get(trade_id="held")
    assert (signal.status, signal.reason) == (SignalStatus.QUEUED, "queued: precision rules missing or stale")
    assert QueueEntry.objects.get().reason == "precision"
    driver.tick(3)  # ticks alone never refresh market rules: the scheduler does
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()

    engine.refresh_markets()
    driver.tick()
    group = group_of()
    signal.refresh_from_db()
    assert (signal.status, signal.reason) == (
        SignalStatus.APPLIED,
        f"promoted from the queue: opened group #{group.pk}",
    )
    assert legs_of(group)[0].state == LegState.FILLED


def test_prices_round_on_the_tick_buys_down_and_sells_up(driver):
    seed_paper_balance("BTC", "1")
    driver.send(price="43000.37", timeframe="15", trade_id="long")
    driver.send(price="43000.37", timeframe="60", side="sell", trade_id="short")

    # Long legs: 43000.37 x 0.995 = 42785.36815 -> 42785.36 (a buy never pays more).
    assert [leg.price for leg in legs_of(group_of(timeframe="15m"))] == [
        D("43000.37"),
        D("42785.36"),
        D("42570.36"),
        D("42355.36"),
        D("42140.36"),
    ]
    # Short legs: 43000.37 x 1.005 = 43215.37185 -> 43215.38 (a sell never receives less).
    assert [leg.price for leg in legs_of(group_of(timeframe="1h"))] == [
        D("43000.37"),
        D("43215.38"),
        D("43430.38"),
        D("43645.38"),
        D("43860.38"),
    ]
    guards = dict(Order.objects.filter(purpose="entry").values_list("side", "price"))
    assert guards == {"buy": D("43215.37"), "sell": D("42785.37")}  # 43000.37 x 1.005 down, x 0.995 up


def test_legs_below_min_notional_are_merged_not_dropped(driver):
    driver.send(price="43000", size="20")  # 4 USDT per leg, below Binance's 5 USDT minimum

    group = group_of()
    legs = legs_of(group)
    assert [(lg.state, lg.weight_percent, lg.qty, lg.merged_into) for lg in legs] == [
        (LegState.FILLED, D(60), D("0.00027"), None),  # 12 USDT / 43000
        (LegState.SKIPPED, D(0), D(0), 2),
        (LegState.OPEN, D(40), D("0.00018"), None),  # 8 USDT / 42570
        (LegState.SKIPPED, D(0), D(0), 0),  # merged into DCA4, which then went to DCA0
        (LegState.SKIPPED, D(0), D(0), 0),
    ]
    adjustments = [
        "DCA1 merged into DCA2: notional 3.85065 below minimum 5",
        "DCA3 merged into DCA4: notional 3.81195 below minimum 5",
        "DCA4 merged into DCA0: DCA0 notional 3.87 below minimum 5",
    ]
    assert pyramid_of(group, 0).adjustments == adjustments
    assert Event.objects.get(category="precision", group_id_ref=group.pk).message == (
        "ladder of P0 adjusted before sending: " + "; ".join(adjustments)
    )
    assert Order.objects.filter(group=group).count() == 2  # DCA0 and DCA2 only


def test_a_pyramid_too_small_for_even_one_leg_is_rejected_with_the_reason(driver):
    driver.send(price="43000", size="4", trade_id="tiny")

    signal = Signal.objects.get(trade_id="tiny")
    assert (signal.status, signal.reason) == (
        SignalStatus.REJECTED,
        "rejected: pyramid size 4 USDT is below the market minimum 5 USDT",
    )
    assert not PositionGroup.objects.exists()

    driver.send(price="43000", trade_id="p0")
    driver.send(price="43000", size="5.01", trade_id="p1")  # enough on paper, not once floored
    assert Signal.objects.get(trade_id="p1").reason == (
        "rejected: pyramid size 5.01 USDT is below the market minimum 5 USDT once rounded"
        " (0.00011 BTC at 43000 = 4.73 USDT)"
    )
    assert group_of().pyramid_count == 1


def test_a_close_below_the_minimum_is_blocked_and_logged_never_sent(driver):
    driver.send(price="43000", size="20")  # DCA0 holds 0.00027 BTC
    driver.send(intent="reduce", side=None, size="0.00017", size_type="base", price="43000", trade_id="r")
    driver.send(intent="exit", side=None, price="43000", trade_id="x")  # 0.0001 BTC = 4.30 USDT is left

    blocked = Order.objects.get(purpose="exit")
    assert (blocked.state, blocked.qty) == ("blocked", D("0.0001"))
    assert not PaperOrder.objects.filter(client_order_id=blocked.client_order_id).exists()
    assert Event.objects.filter(
        category="precision",
        message=f"order {blocked.client_order_id} blocked before sending: {blocked.error}",
    ).exists()
    assert "notional 4.3 is below the minimum 5" in blocked.error
    group = group_of()
    assert group.status == "closed"  # what cannot be sold is written off as dust, and says so
    assert Event.objects.filter(message__contains="0.0001 BTC/USDT left as dust").exists()


SMALL_BOOK = [  # (symbol, entry prices of successive pyramids, quote sizes)
    ("BTCUSDT", ["43000", "42650.5", "42100"], ["11", "23", "47"]),
    ("ETHUSDT", ["2000", "1987.65", "1960.1"], ["17", "12", "31"]),
    ("SOLUSDT", ["20", "19.83", "19.61"], ["9", "26", "14"]),
    ("XRPUSDT", ["0.5", "0.4961", "0.4902"], ["13", "19", "64"]),
    ("DOGEUSDT", ["0.08", "0.07931", "0.07877"], ["10", "35", "21"]),
]


def test_many_small_pyramids_produce_zero_precision_rejections(driver):
    for symbol, prices, sizes in SMALL_BOOK:
        for n, (price, size) in enumerate(zip(prices, sizes, strict=True)):
            driver.price(symbol, price)
            driver.send(symbol=symbol, price=price, size=size, trade_id=f"{symbol}-{n}")
    for symbol, prices, _ in SMALL_BOOK:  # down through the ladders, then up through the TPs
        base = D(prices[-1])
        for factor in ("0.995", "0.99", "0.98", "0.97", "1.0", "1.01", "1.02", "1.03"):
            driver.price(symbol, base * D(factor))
    for symbol, _, _ in SMALL_BOOK[:2]:
        driver.send(symbol=symbol, intent="exit", side=None, trade_id=f"{symbol}-exit")

    assert set(Signal.objects.values_list("status", flat=True)) == {SignalStatus.APPLIED}
    assert PositionGroup.objects.count() == 5
    assert Order.objects.count() > 60
    assert not Order.objects.filter(state__in=["rejected", "blocked"]).exists()
    assert not Event.objects.filter(message__icontains="rejected").exists()
    assert not Event.objects.filter(severity__in=["error", "critical"]).exists()
    merged = sum(1 for p in pyramid_of_all() if p.adjustments)
    assert merged >= 10  # most of these pyramids needed merging to pass the minimums


def pyramid_of_all():
    from trading.models import Pyramid

    return Pyramid.objects.all()
