"""The webhook's `risk.stop_loss` and `risk.take_profit` are honoured, never validated and dropped.

stop_loss: an engine-monitored stop for the whole group (the latest entry that sets one moves it);
the group closes when the price crosses it. take_profit: the pyramid's own take-profit price; its
legs close together there instead of at their leg TPs, and it stays out of the aggregate average.
"""

from __future__ import annotations

import pytest

from trading.models import GroupStatus, LegState, Order, Pyramid, Signal, SignalStatus, Trade

from ..conftest import configure
from .engine_world import D, group_of, leg, legs_of, seed_paper_balance

pytestmark = pytest.mark.django_db


def test_webhook_stop_loss_closes_the_group_when_the_price_crosses_it(driver):
    driver.send(price="43000", risk={"stop_loss": "42200"})
    group = group_of()
    assert group.stop_loss == D("42200")
    driver.price("BTCUSDT", "42300")  # DCA1-3 fill (42785, 42570, 42355); DCA4 rests at 42140
    assert group_of().is_open

    driver.price("BTCUSDT", "42190")  # below the stop

    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    assert group.close_reason == "stop-loss 42200 crossed at 42190"
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("exit", D("0.00935"), D("42190"))
    assert leg(group, 4).state == LegState.CANCELLED


def test_stop_loss_of_a_short_is_above_the_entry(driver):
    seed_paper_balance("BTC", "1")
    driver.send(side="sell", price="43000", risk={"stop_loss": "43500"})
    driver.price("BTCUSDT", "43400")
    assert group_of().is_open

    driver.price("BTCUSDT", "43510")
    assert group_of().status == GroupStatus.CLOSED
    assert group_of().close_reason == "stop-loss 43500 crossed at 43510"


def test_a_later_entry_moves_the_group_stop(driver):
    driver.send(price="43000", trade_id="p0", risk={"stop_loss": "41000"})
    driver.send(price="43100", trade_id="p1", risk={"stop_loss": "42900"})
    driver.send(price="43050", trade_id="p2")  # no stop: the group's stays where P1 put it

    assert group_of().stop_loss == D("42900")
    driver.price("BTCUSDT", "42890")
    assert group_of().status == GroupStatus.CLOSED


def test_webhook_take_profit_is_the_pyramids_own_tp_price(driver):
    driver.send(price="43000", risk={"take_profit": "43200"})
    group = group_of()
    assert Pyramid.objects.get(group=group).take_profit == D("43200")

    driver.price("BTCUSDT", "43199")
    assert leg(group, 0).state == LegState.FILLED  # DCA0's own 1 % TP (43430) would not trigger here
    driver.price("BTCUSDT", "43200")

    assert leg(group, 0).state == LegState.HIT_TP
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_leg", D("0.00232"), D("43200"))
    assert [lg.state for lg in legs_of(group)[1:]] == [LegState.OPEN] * 4  # the ladder keeps resting


def test_a_pyramid_take_profit_closes_only_that_pyramids_legs(driver):
    driver.send(price="43000", trade_id="p0")
    driver.send(price="43000", trade_id="p1", risk={"take_profit": "43100"})
    group = group_of()

    driver.price("BTCUSDT", "43100")

    assert leg(group, 0, pyramid=1).state == LegState.HIT_TP
    assert leg(group, 0, pyramid=0).state == LegState.FILLED  # P0's DCA0 waits for its 1 % (43430)


def test_a_pyramid_take_profit_stays_out_of_the_aggregate(driver):
    configure(grid_strategy={"tp_mode": "aggregate", "aggregate_tp_percent": "1"})
    driver.send(price="43000", trade_id="p0")
    driver.price("BTCUSDT", "42000")  # all of P0 fills: 0.01172 at 42567.63 on average
    driver.send(price="42000", trade_id="p1", risk={"take_profit": "44000"})  # its DCA0 fills at 42000
    group = group_of()

    # Averaged with P1's fill the target would be 42896.5 and 42950 would close the group; P0 alone
    # targets 42567.63 x 1.01 = 42993.3.
    driver.price("BTCUSDT", "42950")
    assert group_of().is_open
    driver.price("BTCUSDT", "43000")
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED  # the aggregate TP still closes the whole group


def test_a_stop_loss_on_the_wrong_side_of_the_entry_is_refused_with_422(driver):
    response = driver.webhook(price="43000", risk={"stop_loss": "43500", "take_profit": "42000"})

    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "risk.stop_loss": "must be below the entry price (43000) for a long entry",
        "risk.take_profit": "must be above the entry price (43000) for a long entry",
    }
    assert not Signal.objects.exists()


def test_an_entry_whose_stop_is_already_crossed_is_rejected(driver):
    driver.price("BTCUSDT", "42000")
    driver.send(price="42500", risk={"stop_loss": "42100"}, trade_id="late")

    signal = Signal.objects.get(trade_id="late")
    assert (signal.status, signal.reason) == (
        SignalStatus.REJECTED,
        "rejected: stop-loss 42100 is already crossed at the live price 42000",
    )
    assert not Order.objects.exists()


def test_an_exit_says_it_ignores_stop_loss_and_take_profit(driver):
    driver.send(price="43000")
    driver.send(intent="exit", side=None, trade_id="x", risk={"stop_loss": "42000", "take_profit": "45000"})

    signal = Signal.objects.get(trade_id="x")
    assert signal.status == SignalStatus.APPLIED
    assert signal.reason.endswith("; risk.stop_loss/take_profit apply to entries only: ignored")
