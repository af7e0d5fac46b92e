"""Partial fills: a leg books each piece as it fills; its average and TP follow every piece.

With `paper_partial_fill_ratio` 0.5 the paper exchange fills at most half of a limit order's
quantity (floored to the step) per price update; a resting order that the price crosses fills at
its own limit price, a marketable one takes the current price (clamped by its limit) at placement
and for its unfilled rest afterwards.
"""

from __future__ import annotations

import pytest

from trading.models import Event, GroupStatus, LegState, Order, OrderState, Trade

from ..conftest import configure
from .engine_world import D, group_of, leg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def half_fills(engine):
    configure(exchange={"paper_partial_fill_ratio": "0.5"})


def test_crossed_limit_leg_fills_half_per_price_update(driver):
    driver.send(price="43000")
    group = group_of()

    driver.price("BTCUSDT", "42780")  # crosses DCA1 (0.00233 @ 42785): half is 0.001165, floored 0.00116
    dca1 = leg(group, 1)
    assert (dca1.state, dca1.filled_qty, dca1.avg_fill_price) == (
        LegState.PARTIALLY_FILLED,
        D("0.00116"),
        D("42785"),
    )
    assert dca1.tp_price == D("42998.925")  # 42785 x 1.005, for what has filled

    driver.price("BTCUSDT", "42779")
    dca1.refresh_from_db()
    assert (dca1.state, dca1.filled_qty) == (LegState.PARTIALLY_FILLED, D("0.00232"))

    driver.price("BTCUSDT", "42778")
    dca1.refresh_from_db()
    assert (dca1.state, dca1.filled_qty, dca1.avg_fill_price) == (LegState.FILLED, D("0.00233"), D("42785"))
    order = Order.objects.get(leg=dca1)
    assert (order.state, order.filled_qty) == (OrderState.FILLED, D("0.00233"))


def test_average_fill_and_tp_are_recomputed_on_every_partial_fill(driver):
    driver.send(price="43000")
    group = group_of()
    dca0 = leg(group, 0)
    # At placement DCA0 takes half at the current price 43000.
    assert (dca0.state, dca0.filled_qty, dca0.avg_fill_price, dca0.tp_price) == (
        LegState.PARTIALLY_FILLED,
        D("0.00116"),
        D("43000"),
        D("43430"),
    )
    assert group.status == GroupStatus.PARTIALLY_FILLED

    driver.price("BTCUSDT", "42990")  # the rest takes the market price, below its 43215 guard
    dca0.refresh_from_db()
    # avg = (0.00116 x 43000 + 0.00116 x 42990) / 0.00232 = 42995; TP = 42995 x 1.01
    assert (dca0.state, dca0.filled_qty, dca0.avg_fill_price, dca0.tp_price) == (
        LegState.FILLED,
        D("0.00232"),
        D("42995"),
        D("43424.95"),
    )


def test_rest_of_a_marketable_entry_fills_at_the_market_price_not_its_guard(driver):
    driver.send(price="43000")  # DCA0: 0.00232 with its guard at 43215; half fills at 43000
    driver.price("BTCUSDT", "42990")

    fills = Event.objects.filter(message__startswith="DCA0 of P0 filled").order_by("id")
    assert [m.split(" (")[0] for m in fills.values_list("message", flat=True)] == [
        "DCA0 of P0 filled 0.00116 @ 43000",
        "DCA0 of P0 filled 0.00116 @ 42990",  # the market's price, never the worse 43215 guard
    ]
    entry = Order.objects.get(leg=leg(group_of(), 0))
    assert (entry.state, entry.avg_fill_price) == (OrderState.FILLED, D("42995"))


def test_tp_of_a_partially_filled_leg_closes_only_the_filled_quantity(driver):
    driver.send(price="43000")
    group = group_of()
    driver.price("BTCUSDT", "42780")  # DCA1 0.00116 of 0.00233

    driver.price("BTCUSDT", "43000")  # DCA1's TP 42998.925; DCA0's 43538.575 is not reached
    dca1 = leg(group, 1)
    assert (dca1.state, dca1.filled_qty, dca1.closed_qty) == (LegState.HIT_TP, D("0.00116"), D("0.00116"))
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_leg", D("0.00116"), D("43000"))
    # One round trip per leg: the unfilled rest of its entry order is cancelled.
    entry = Order.objects.get(leg=dca1)
    assert (entry.state, entry.filled_qty) == (OrderState.CANCELLED, D("0.00116"))


def test_leg_tp_below_the_exchange_minimum_waits_instead_of_stranding_the_leg(driver):
    driver.send(price="43000", size="20")  # merged ladder: DCA2 holds 0.00018 @ 42570 (TP 2 % = 43421.4)
    group = group_of()
    # DCA0 (0.00027, guard 43215) takes 0.00013 @ 43000 and 0.00013 @ 43200, then its last 0.00001
    # @ 42560: average 43080, TP 43510.8, out of reach of the prices below.
    driver.price("BTCUSDT", "43200")
    driver.price("BTCUSDT", "42560")  # DCA2 fills 0.00009: 3.83 USDT, below the 5 USDT minimum

    driver.price("BTCUSDT", "43430")  # past DCA2's TP, but 0.00009 BTC cannot be sold
    driver.price("BTCUSDT", "43440")
    assert not Order.objects.filter(purpose="tp").exists()  # nothing blocked, nothing sent, nothing cancelled
    dca2 = leg(group, 2)
    assert (dca2.state, dca2.filled_qty) == (LegState.PARTIALLY_FILLED, D("0.00009"))
    assert Order.objects.get(leg=dca2).state == OrderState.PARTIALLY_FILLED
    warnings = Event.objects.filter(category="precision", message__contains="take-profit reached but 0.00009")
    assert warnings.count() == 1  # logged once, not on every price update

    driver.price("BTCUSDT", "42560")  # the leg completes
    driver.price("BTCUSDT", "43430")  # and now takes profit on all of it
    dca2.refresh_from_db()
    assert (dca2.state, dca2.filled_qty, dca2.closed_qty) == (LegState.HIT_TP, D("0.00018"), D("0.00018"))
    assert Trade.objects.get().qty == D("0.00018")
    assert not Order.objects.filter(state="blocked").exists()
