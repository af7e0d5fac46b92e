"""An entry whose price is far from the live price is rejected (grid_strategy.max_entry_deviation_percent)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from exchanges.paper_feeds import BUNDLED_BTC_USDT_1H
from exchanges.paper_models import PaperPrice
from trading.engine.feeds import PaperFeedDriver
from trading.models import Order, PositionGroup, QueueEntry, Signal, SignalStatus

from ..conftest import configure
from .engine_world import group_of

pytestmark = pytest.mark.django_db


def test_an_entry_far_from_the_live_price_is_rejected(driver):
    driver.price("BTCUSDT", "19100")
    driver.send(price="43000", trade_id="far")

    signal = Signal.objects.get(trade_id="far")
    assert (signal.status, signal.reason) == (
        SignalStatus.REJECTED,
        "rejected: entry price 43000 is 125.13% above the live price 19100"
        " (grid_strategy.max_entry_deviation_percent 5)",
    )
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()


def test_an_entry_within_the_deviation_opens(driver):
    driver.price("BTCUSDT", "19100")
    driver.send(price="19500", trade_id="near")  # 2.09 % above

    assert Signal.objects.get(trade_id="near").status == SignalStatus.APPLIED
    assert group_of().is_open


def test_a_deviation_of_zero_turns_the_check_off(driver):
    configure(grid_strategy={"max_entry_deviation_percent": "0"})
    driver.price("BTCUSDT", "19100")
    driver.send(price="43000", trade_id="far")

    assert Signal.objects.get(trade_id="far").status == SignalStatus.APPLIED


def test_a_queued_entry_whose_market_moved_away_is_rejected_when_promoted(driver):
    configure(execution_pool={"max_open_groups": 1})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")
    driver.price("ETHUSDT", "2200")  # ETH ran 10 % while the entry waited
    driver.send(symbol="BTCUSDT", intent="exit", side=None, trade_id="btc-exit")

    eth = Signal.objects.get(trade_id="eth")
    assert (eth.status, eth.reason) == (
        SignalStatus.REJECTED,
        "taken from the queue: rejected: entry price 2000 is 9.09% below the live price 2200"
        " (grid_strategy.max_entry_deviation_percent 5)",
    )
    assert not QueueEntry.objects.exists()
    assert not PositionGroup.objects.filter(symbol="ETH/USDT").exists()


def test_the_replay_feed_prices_its_market_before_the_first_signal(driver, engine):
    first_close = Decimal(str(json.loads(BUNDLED_BTC_USDT_1H.read_text())[0][4]))
    PaperFeedDriver(engine.ctx, "replay").step()
    assert PaperPrice.objects.get(symbol="BTC/USDT").price == first_close  # 19565.47

    driver.send(price="43000", trade_id="readme")  # the old README example price
    assert Signal.objects.get(trade_id="readme").status == SignalStatus.REJECTED
    driver.send(price="19565", trade_id="replay")
    assert Signal.objects.get(trade_id="replay").status == SignalStatus.APPLIED
