"""Exit closes the whole group at once; first trigger wins, so TP and exit never close the same quantity."""

from __future__ import annotations

import pytest

from exchanges.paper_models import PaperBalance, PaperOrder
from trading.models import (
    Command,
    DcaLeg,
    Event,
    GroupStatus,
    LegState,
    Order,
    PositionGroup,
    Signal,
    SignalStatus,
    Trade,
)

from .engine_world import D, group_of, install_flaky_venue, leg, legs_of

pytestmark = pytest.mark.django_db


def btc_held() -> D:
    row = PaperBalance.objects.filter(asset="BTC").first()
    return (row.free + row.locked) if row else D(0)


def test_exit_closes_everything_cancels_unfilled_legs_and_records_the_trade(driver):
    driver.send(price="43000")  # DCA0 0.00232 @ 43000
    driver.price("BTCUSDT", "42780")  # DCA1 0.00233 @ 42785
    driver.price("BTCUSDT", "42900")  # below DCA1's TP (42998.925)
    driver.send(intent="exit", side=None, price="42900", trade_id="x")

    group = group_of()
    exit_signal = Signal.objects.get(trade_id="x")
    assert exit_signal.status == SignalStatus.APPLIED
    assert exit_signal.reason == f"closed group #{group.pk}"
    assert group.status == GroupStatus.CLOSED
    assert group.close_reason == f"exit signal #{exit_signal.pk}"
    assert [lg.state for lg in legs_of(group)] == [LegState.CLOSED] * 2 + [LegState.CANCELLED] * 3
    unfilled = Order.objects.filter(group=group, leg__index__gte=2)
    assert set(unfilled.values_list("state", flat=True)) == {"cancelled"}
    assert set(
        PaperOrder.objects.filter(client_order_id__in=unfilled.values("client_order_id")).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}

    close = Order.objects.get(purpose="exit")
    assert (close.type, close.side, close.qty) == ("market", "sell", D("0.00465"))
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("exit", D("0.00465"), D("42900"))
    # (0.00232 x 43000 + 0.00233 x 42785) / 0.00465; SQLite keeps ~15 significant digits of it.
    assert trade.entry_price.quantize(D("1E-8")) == D("42892.26881720")
    # -100 x 0.00232 + 115 x 0.00233 = 0.03595; fees 0.09976 + 0.09968905 + 0.199485 = 0.39893405.
    assert trade.fees == D("0.39893405")
    assert trade.realized_pnl == D("-0.36298405")
    assert group.realized_pnl == D("-0.36298405")
    assert btc_held() == 0
    assert Event.objects.filter(group_id_ref=group.pk, message__contains="pool slot released").exists()


def test_exit_after_a_leg_tp_closes_only_what_is_still_open(driver):
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")
    driver.price("BTCUSDT", "42999")  # DCA1 takes profit on its own
    driver.send(intent="exit", side=None, price="42999", trade_id="x")

    group = group_of()
    assert group.status == GroupStatus.CLOSED
    trades = {t.reason: t.qty for t in Trade.objects.all()}
    assert trades == {"tp_leg": D("0.00233"), "exit": D("0.00232")}
    assert (leg(group, 0).state, leg(group, 1).state) == (LegState.CLOSED, LegState.HIT_TP)
    filled = sum(DcaLeg.objects.filter(group=group).values_list("filled_qty", flat=True), D(0))
    assert sum(trades.values(), D(0)) == filled == D("0.00465")
    assert btc_held() == 0


def test_exit_while_a_tp_close_is_in_flight_never_closes_that_quantity_twice(driver, engine):
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")
    venue = install_flaky_venue(engine, lose="request")  # DCA1's TP order will not get through at once

    # In one tick: the price triggers DCA1's TP (its send times out), then the exit arrives.
    Command.objects.create(
        kind="paper_price", args={"symbol": "BTCUSDT", "price": "42999"}, created_at=engine.ctx.now()
    )
    driver.webhook(intent="exit", side=None, price="42999", trade_id="x")
    driver.tick()
    engine.ctx.clock.advance(seconds=2)  # past the back-off after the lost request
    driver.tick()

    group = group_of()
    tp_order = Order.objects.get(purpose="tp")
    assert venue.sent.count(tp_order.client_order_id) == 2  # lost once, then looked up and re-sent
    trades = {t.reason: t.qty for t in Trade.objects.all()}
    assert trades == {"tp_leg": D("0.00233"), "exit": D("0.00232")}
    assert group.status == GroupStatus.CLOSED
    assert btc_held() == 0


def test_exit_with_nothing_open_or_queued_is_ignored(driver):
    driver.send(intent="exit", side=None, trade_id="x")

    signal = Signal.objects.get()
    assert signal.status == SignalStatus.IGNORED
    assert signal.reason == "ignored: nothing open or queued on BTC/USDT 15m"


def test_an_entry_while_the_group_is_closing_waits_then_opens_a_new_group(driver, engine):
    driver.send(price="43000")
    old = group_of()
    venue = install_flaky_venue(engine, down=True)  # the exit's close order is not confirmed yet
    driver.send(intent="exit", side=None, trade_id="x")
    old.refresh_from_db()
    assert old.status == GroupStatus.CLOSING

    driver.webhook(price="42900", trade_id="new")
    engine.tick()  # the exchange still does not answer
    new = Signal.objects.get(trade_id="new")
    assert (new.status, new.reason) == (SignalStatus.QUEUED, f"queued: group #{old.pk} is closing")
    assert old.pyramids.count() == 1  # never a pyramid on a closing group

    venue.heal()
    driver.tick()  # the close completes, then the waiting entry opens a fresh group at once
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == GroupStatus.CLOSED
    fresh = PositionGroup.objects.exclude(pk=old.pk).get()
    assert (new.status, new.reason) == (
        SignalStatus.APPLIED,
        f"promoted from the queue: opened group #{fresh.pk}",
    )
    assert Trade.objects.get(group=old).qty == D("0.00232")
