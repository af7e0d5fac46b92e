"""DCA ladder per pyramid: leg prices from the pyramid's base price, DCA0 a guarded marketable order."""

from __future__ import annotations

import json

import pytest

from trading.models import GroupStatus, LegState, Order, PositionGroup, Signal, SignalStatus

from ..conftest import signal_payload
from .engine_world import (
    BTC_LADDER_PRICES,
    BTC_LADDER_QTYS,
    D,
    group_of,
    legs_of,
    pyramid_of,
    seed_paper_balance,
)

pytestmark = pytest.mark.django_db


def test_long_ladder_prices_sit_below_the_base_at_each_gap_with_equal_weights(driver):
    driver.send(price="43000", size="500")

    group = group_of()
    legs = legs_of(group)
    # base x (1 + gap/100): 43000, 42785, 42570, 42355, 42140; 100 USDT each, floored to 0.00001.
    assert [leg.gap_percent for leg in legs] == [D("0"), D("-0.5"), D("-1"), D("-1.5"), D("-2")]
    assert [leg.price for leg in legs] == BTC_LADDER_PRICES
    assert [leg.qty for leg in legs] == BTC_LADDER_QTYS
    assert [leg.weight_percent for leg in legs] == [D(20)] * 5
    assert [leg.tp_percent for leg in legs] == [D("1"), D("0.5"), D("2"), D("1.5"), D("1")]
    dca_orders = Order.objects.filter(group=group, purpose="dca").order_by("leg__index")
    assert [(o.side, o.type, o.price, o.qty) for o in dca_orders] == [
        ("buy", "limit", price, qty)
        for price, qty in zip(BTC_LADDER_PRICES[1:], BTC_LADDER_QTYS[1:], strict=True)
    ]


def test_short_ladder_mirrors_above_the_base(driver):
    seed_paper_balance("BTC", "1")  # spot: a short sells BTC the account holds
    driver.send(side="sell", price="43000", size="500")

    group = group_of()
    assert group.side == "short"
    legs = legs_of(group)
    # base x (1 - gap/100): 43000, 43215, 43430, 43645, 43860; 100 USDT / price floored to 0.00001.
    assert [leg.price for leg in legs] == [D("43000"), D("43215"), D("43430"), D("43645"), D("43860")]
    assert [leg.qty for leg in legs] == [D("0.00232"), D("0.00231"), D("0.00230"), D("0.00229"), D("0.00227")]
    assert set(Order.objects.filter(group=group).values_list("side", flat=True)) == {"sell"}
    assert legs[0].state == LegState.FILLED
    assert legs[0].avg_fill_price == D("43000")


def test_dca0_is_a_marketable_limit_guarded_by_the_default_slippage(driver):
    driver.send(price="43000")

    entry = Order.objects.get(purpose="entry")
    # Default max_slippage_percent 0.5: a buy never pays more than 43000 x 1.005 = 43215.
    assert (entry.type, entry.side, entry.price) == ("limit", "buy", D("43215"))
    assert entry.state == "filled"
    assert entry.avg_fill_price == D("43000")  # it took the market at the current price


def test_dca0_guard_uses_the_signals_max_slippage(driver):
    driver.send(price="43000", risk={"max_slippage_percent": "0.2"})

    assert pyramid_of(group_of(), 0).max_slippage_percent == D("0.2")
    assert Order.objects.get(purpose="entry").price == D("43086")  # 43000 x 1.002


def test_dca0_never_fills_beyond_its_guard(driver):
    driver.price("BTCUSDT", "43300")  # the market ran away before the alert arrived
    driver.send(price="43000")

    group = group_of()
    dca0 = legs_of(group)[0]
    assert dca0.state == LegState.OPEN
    assert dca0.filled_qty == 0
    assert group.status == GroupStatus.LIVE

    driver.price("BTCUSDT", "43215")  # back at the guard: the resting order fills at its limit
    dca0.refresh_from_db()
    assert dca0.state == LegState.FILLED
    assert dca0.avg_fill_price == D("43215")


def test_base_price_falls_back_to_close_price(driver):
    payload = signal_payload(price=None)
    payload["tv"]["close_price"] = "42000"
    response = driver.webhook(raw=json.dumps(payload).encode())
    assert response.status_code == 202
    driver.tick()

    group = group_of()
    assert pyramid_of(group, 0).base_price == D("42000")
    assert [leg.price for leg in legs_of(group)] == [
        D("42000"),
        D("41790"),
        D("41580"),
        D("41370"),
        D("41160"),
    ]


def test_a_group_is_one_symbol_and_timeframe(driver):
    driver.send(timeframe="15", trade_id="a")
    driver.send(timeframe="60", trade_id="b")
    driver.send(timeframe="15", trade_id="c", price="43100")

    groups = PositionGroup.objects.order_by("id")
    assert [(g.symbol, g.timeframe, g.pyramid_count) for g in groups] == [
        ("BTC/USDT", "15m", 2),
        ("BTC/USDT", "1h", 1),
    ]
    assert list(Signal.objects.order_by("id").values_list("status", flat=True)) == [SignalStatus.APPLIED] * 3
