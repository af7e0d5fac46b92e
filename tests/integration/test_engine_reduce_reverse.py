"""Reduce closes a quantity proportionally across filled legs; reverse closes and opens the other side."""

from __future__ import annotations

import pytest

from exchanges.paper_models import PaperBalance
from trading.models import Event, GroupStatus, LegState, Order, PositionGroup, Signal, SignalStatus, Trade

from .engine_world import D, group_of, install_flaky_venue, leg, legs_of, seed_paper_balance

pytestmark = pytest.mark.django_db


def open_two_filled_legs(driver) -> PositionGroup:
    driver.send(price="43000")  # DCA0 0.00232 @ 43000
    driver.price("BTCUSDT", "42780")  # DCA1 0.00233 @ 42785
    driver.price("BTCUSDT", "42900")
    return group_of()


def test_reduce_closes_the_quantity_proportionally_across_filled_legs(driver):
    group = open_two_filled_legs(driver)
    driver.send(intent="reduce", side=None, size="0.002325", size_type="base", price="42900", trade_id="r")

    # 0.002325 of 0.00465 open = 50 %: DCA0 0.00116, DCA1 0.001165 floored to 0.00116.
    signal = Signal.objects.get(trade_id="r")
    assert signal.status == SignalStatus.APPLIED
    assert signal.reason == f"reduced group #{group.pk} by 0.00232"
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("reduce", D("0.00232"), D("42900"))
    legs = legs_of(group)
    assert [(lg.filled_qty, lg.closed_qty) for lg in legs[:2]] == [
        (D("0.00232"), D("0.00116")),
        (D("0.00233"), D("0.00116")),
    ]
    # Structure preserved: filled legs stay filled, the unfilled ladder keeps waiting.
    assert [lg.state for lg in legs] == [LegState.FILLED] * 2 + [LegState.OPEN] * 3
    group.refresh_from_db()
    assert group.status == GroupStatus.PARTIALLY_FILLED

    driver.price("BTCUSDT", "42999")  # DCA1's own TP now closes only what the reduce left
    assert Trade.objects.get(reason="tp_leg").qty == D("0.00117")
    assert leg(group, 1).state == LegState.HIT_TP


def test_reduce_in_quote_converts_at_the_signal_price(driver):
    group = open_two_filled_legs(driver)
    # 100 USDT / 42900 = 0.0023310 BTC, floored to 0.00233 (233 steps) and shared 116 + 117 by the
    # legs' 0.00232 : 0.00233 (once floored per leg, it closed 0.00232: one step short).
    driver.send(intent="reduce", side=None, size="100", size_type="quote", price="42900", trade_id="r")

    assert Signal.objects.get(trade_id="r").reason == f"reduced group #{group.pk} by 0.00233"
    assert [lg.closed_qty for lg in legs_of(group)[:2]] == [D("0.00116"), D("0.00117")]


def test_reduce_with_nothing_open_is_ignored(driver):
    driver.send(intent="reduce", side=None, size="0.001", size_type="base", trade_id="r")

    signal = Signal.objects.get()
    assert (signal.status, signal.reason) == (SignalStatus.IGNORED, "ignored: nothing open on BTC/USDT 15m")


def test_reverse_closes_the_group_and_opens_the_opposite_side(driver):
    seed_paper_balance("BTC", "1")  # spot: the short sells BTC the account holds
    driver.send(price="43000", trade_id="long")
    long_group = group_of()
    driver.price("BTCUSDT", "42900")
    driver.send(intent="reverse", side="sell", price="42900", trade_id="rev")

    reverse = Signal.objects.get(trade_id="rev")
    long_group.refresh_from_db()
    assert long_group.status == GroupStatus.CLOSED
    assert long_group.close_reason == f"reversed by signal #{reverse.pk}"
    closed = Trade.objects.get(group=long_group)
    assert (closed.reason, closed.qty, closed.exit_price) == ("reverse", D("0.00232"), D("42900"))

    short_group = PositionGroup.objects.exclude(pk=long_group.pk).get()
    assert (short_group.side, short_group.symbol, short_group.timeframe) == ("short", "BTC/USDT", "15m")
    assert reverse.status == SignalStatus.APPLIED
    assert reverse.reason == f"reversed: opened group #{short_group.pk}"
    dca0 = leg(short_group, 0)
    assert (dca0.state, dca0.filled_qty, dca0.avg_fill_price) == (LegState.FILLED, D("0.00233"), D("42900"))
    assert [lg.price for lg in legs_of(short_group)[1:]] == [
        D("43114.5"),
        D("43329"),
        D("43543.5"),
        D("43758"),
    ]
    btc = PaperBalance.objects.get(asset="BTC")
    assert btc.free + btc.locked == D("1") - D("0.00233")  # the long is flat again; the short sold 0.00233


def test_reverse_with_nothing_open_opens_the_requested_side(driver):
    seed_paper_balance("BTC", "1")
    driver.send(intent="reverse", side="sell", price="43000")

    assert group_of().side == "short"


def test_reverse_waits_for_a_slow_close_then_opens_the_opposite_side(driver, engine):
    seed_paper_balance("BTC", "1")
    driver.send(price="43000", trade_id="long")
    long_group = group_of()
    venue = install_flaky_venue(engine, lose="request")  # the closing order's first send times out
    driver.send(intent="reverse", side="sell", price="43000", trade_id="rev")

    # The close went through on the next sync, and the short opened once the long was closed.
    long_group.refresh_from_db()
    assert long_group.status == GroupStatus.CLOSED
    close = Order.objects.get(group=long_group, purpose="rev")
    assert venue.sent.count(close.client_order_id) == 2
    short_group = PositionGroup.objects.get(side="short")
    reverse = Signal.objects.get(trade_id="rev")
    assert reverse.status == SignalStatus.APPLIED
    assert reverse.reason == f"promoted from the queue: opened group #{short_group.pk}"
    assert Event.objects.filter(
        signal_id_ref=reverse.pk, message__contains=f"queued: group #{long_group.pk} is closing"
    ).exists()


def test_reduce_closes_exactly_the_requested_quantity(driver):
    # ETH/USDT step 0.0001: DCA0 0.05 @ 2000 and DCA1 0.0502 @ 1990 filled, 0.1002 open.
    driver.send(symbol="ETHUSDT", price="2000")
    driver.price("ETHUSDT", "1990")
    group = group_of("ETH/USDT")
    driver.send(symbol="ETHUSDT", intent="reduce", side=None, size="0.1", size_type="base", trade_id="r")

    # Floored leg by leg this closed 0.0499 + 0.0500 = 0.0999; the total is rounded first now.
    assert Signal.objects.get(trade_id="r").reason == f"reduced group #{group.pk} by 0.1"
    assert Trade.objects.get(reason="reduce").qty == D("0.1")
    assert [lg.closed_qty for lg in legs_of(group)[:2]] == [D("0.0499"), D("0.0501")]
