"""Take-profit modes, engine-monitored on every price update: leg, aggregate and hybrid."""

from __future__ import annotations

import pytest

from trading.models import Event, GroupStatus, LegState, Order, Trade

from ..conftest import configure
from .engine_world import D, group_of, leg, legs_of, seed_paper_balance

pytestmark = pytest.mark.django_db


def test_leg_tp_closes_a_leg_at_its_actual_fill_price_plus_its_tp(driver):
    driver.price("BTCUSDT", "42900")  # the alert says 43000, the market is at 42900
    driver.send(price="43000")

    group = group_of()
    dca0 = leg(group, 0)
    assert dca0.avg_fill_price == D("42900")
    assert dca0.tp_price == D("43329")  # 42900 x 1.01, not 43000 x 1.01

    driver.price("BTCUSDT", "43328.99")
    assert not Trade.objects.exists()

    driver.price("BTCUSDT", "43329")
    dca0.refresh_from_db()
    assert dca0.state == LegState.HIT_TP
    assert dca0.closed_qty == D("0.00232")
    close = Order.objects.get(purpose="tp")
    assert (close.type, close.side, close.qty) == ("market", "sell", D("0.00232"))
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.entry_price, trade.exit_price) == (
        "tp_leg",
        D("0.00232"),
        D("42900"),
        D("43329"),
    )
    # 429 x 0.00232 = 0.99528, less fees 0.099528 (entry) and 0.10052328 (exit).
    assert trade.realized_pnl == D("0.79522872")
    # The other legs are untouched: each leg takes profit on its own.
    assert [lg.state for lg in legs_of(group)[1:]] == [LegState.OPEN] * 4
    group.refresh_from_db()
    assert group.status == GroupStatus.LIVE  # still open: four legs wait to fill, nothing held


def test_leg_tp_of_a_short_is_below_its_fill(driver):
    seed_paper_balance("BTC", "1")
    driver.send(side="sell", price="43000")

    dca0 = leg(group_of(), 0)
    assert dca0.tp_price == D("42570")  # 43000 x 0.99
    driver.price("BTCUSDT", "42570.01")
    assert not Trade.objects.exists()

    driver.price("BTCUSDT", "42570")
    dca0.refresh_from_db()
    assert dca0.state == LegState.HIT_TP
    assert Order.objects.get(purpose="tp").side == "buy"
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_leg", D("0.00232"), D("42570"))
    # 430 x 0.00232 = 0.9976, less fees 0.09976 (entry) and 0.0987624 (exit).
    assert trade.realized_pnl == D("0.7990776")


def test_aggregate_tp_closes_the_group_at_weighted_average_entry_plus_percent(driver):
    configure(grid_strategy={"tp_mode": "aggregate", "aggregate_tp_percent": "1"})
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")  # DCA1 fills at 42785

    group = group_of()
    assert group.tp_mode == "aggregate"
    # avg = (0.00232 x 43000 + 0.00233 x 42785) / 0.00465 = 42892.2688...; x 1.01 = 43321.1915...
    driver.price("BTCUSDT", "43100")  # past DCA1's own TP (42998.925): nothing happens in aggregate mode
    driver.price("BTCUSDT", "43321.19")
    assert not Trade.objects.exists()

    driver.price("BTCUSDT", "43321.20")
    group.refresh_from_db()
    assert (group.status, group.close_reason) == (GroupStatus.CLOSED, "aggregate take-profit")
    assert Event.objects.filter(
        group_id_ref=group.pk, message__contains="reached at 43321.2; closing"
    ).exists()
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_group", D("0.00465"), D("43321.2"))
    assert [lg.state for lg in legs_of(group)] == [LegState.HIT_TP] * 2 + [LegState.CANCELLED] * 3


def test_tp_mode_is_snapshotted_when_the_group_opens(driver):
    driver.send(price="43000")  # opened in leg mode
    configure(grid_strategy={"tp_mode": "aggregate", "aggregate_tp_percent": "5"})
    driver.price("BTCUSDT", "42780")
    driver.price("BTCUSDT", "42999")  # DCA1's leg TP 42998.925

    assert group_of().tp_mode == "leg"
    assert Trade.objects.get().reason == "tp_leg"


def test_hybrid_leg_tp_first_then_aggregate_recomputed_over_what_remains(driver):
    configure(grid_strategy={"tp_mode": "hybrid", "aggregate_tp_percent": "0.8"})
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")  # DCA1 fills at 42785
    group = group_of()

    # Aggregate target 42892.2688 x 1.008 = 43235.41; DCA1's own TP 42998.925 comes first.
    driver.price("BTCUSDT", "42999")
    assert leg(group, 1).state == LegState.HIT_TP
    assert Trade.objects.get().reason == "tp_leg"

    # Only DCA0 (0.00232 @ 43000) remains: the aggregate is now 43000 x 1.008 = 43344.
    driver.price("BTCUSDT", "43300")  # above the old aggregate target: nothing closes
    assert Trade.objects.count() == 1
    driver.price("BTCUSDT", "43343.99")
    assert Trade.objects.count() == 1

    driver.price("BTCUSDT", "43344")  # before DCA0's own 1 % TP (43430)
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED
    final = Trade.objects.get(reason="tp_group")
    assert (final.qty, final.exit_price) == (D("0.00232"), D("43344"))
    assert leg(group, 0).state == LegState.HIT_TP


def test_hybrid_aggregate_can_trigger_before_any_leg(driver):
    configure(grid_strategy={"tp_mode": "hybrid", "aggregate_tp_percent": "0.5"})
    driver.send(price="43000")

    driver.price("BTCUSDT", "43214.99")
    assert not Trade.objects.exists()
    driver.price("BTCUSDT", "43215")  # 43000 x 1.005; DCA0's own TP is 43430

    assert group_of().status == GroupStatus.CLOSED
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_group", D("0.00232"), D("43215"))


def test_aggregate_tp_of_a_short_is_below_the_average_entry(driver):
    seed_paper_balance("BTC", "1")
    configure(grid_strategy={"tp_mode": "aggregate", "aggregate_tp_percent": "1"})
    driver.send(side="sell", price="43000")
    driver.price("BTCUSDT", "43220")  # DCA1 sells 0.00231 @ 43215

    # avg = (0.00232 x 43000 + 0.00231 x 43215) / 0.00463 = 43107.2678...; x 0.99 = 42676.195...
    driver.price("BTCUSDT", "42676.20")
    assert not Trade.objects.exists()
    driver.price("BTCUSDT", "42676.19")

    assert group_of().status == GroupStatus.CLOSED
    trade = Trade.objects.get()
    assert (trade.reason, trade.qty, trade.exit_price) == ("tp_group", D("0.00463"), D("42676.19"))
    assert Order.objects.get(purpose="tpg").side == "buy"
