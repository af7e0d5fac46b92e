"""The execution pool: at most max_open_groups live groups; a full close frees a slot and promotes at once."""

from __future__ import annotations

import pytest

from trading.models import GroupStatus, PositionGroup, QueueEntry, Signal, SignalStatus

from ..conftest import configure
from .engine_world import group_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_pool(driver):
    """Two slots, both taken (BTC and ETH), SOL waiting."""
    configure(execution_pool={"max_open_groups": 2})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")
    driver.send(symbol="SOLUSDT", price="20", trade_id="sol")
    return driver


def test_default_pool_holds_ten_groups_and_queues_the_eleventh(driver):
    timeframes = ["1", "3", "5", "15", "30", "60", "120", "240", "1D", "1W", "720"]
    for tf in timeframes:
        driver.send(price="43000", size="100", timeframe=tf, trade_id=f"tf{tf}")

    assert PositionGroup.objects.count() == 10  # one group per (symbol, timeframe)
    eleventh = Signal.objects.get(trade_id="tf720")
    assert (eleventh.status, eleventh.reason) == (SignalStatus.QUEUED, "queued: pool full 10/10")


def test_new_group_beyond_the_pool_is_queued(full_pool):
    sol = Signal.objects.get(trade_id="sol")
    assert (sol.status, sol.reason) == (SignalStatus.QUEUED, "queued: pool full 2/2")
    entry = QueueEntry.objects.get()
    assert (entry.symbol, entry.timeframe, entry.side, entry.reason) == (
        "SOL/USDT",
        "15m",
        "long",
        "pool_full",
    )
    assert not PositionGroup.objects.filter(symbol="SOL/USDT").exists()


def test_full_close_releases_the_slot_and_promotes_the_queued_signal_in_the_same_tick(full_pool):
    full_pool.send(symbol="BTCUSDT", intent="exit", side=None, trade_id="btc-exit")  # one tick

    assert group_of("BTC/USDT").status == GroupStatus.CLOSED
    sol_group = group_of("SOL/USDT")
    sol = Signal.objects.get(trade_id="sol")
    assert sol.status == SignalStatus.APPLIED
    assert sol.reason == f"promoted from the queue: opened group #{sol_group.pk}"
    assert sol.group == sol_group
    assert not QueueEntry.objects.exists()


def test_a_group_closed_by_take_profit_also_frees_its_slot(driver):
    configure(execution_pool={"max_open_groups": 2}, grid_strategy={"tp_mode": "aggregate"})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")
    driver.send(symbol="SOLUSDT", price="20", trade_id="sol")
    assert Signal.objects.get(trade_id="sol").status == SignalStatus.QUEUED

    driver.price("BTCUSDT", "43430")  # 43000 x 1.01: the aggregate TP closes the whole group

    assert group_of("BTC/USDT").status == GroupStatus.CLOSED
    assert group_of("SOL/USDT").is_open
    assert Signal.objects.get(trade_id="sol").status == SignalStatus.APPLIED


def test_partial_closes_never_release_a_slot(full_pool):
    full_pool.price("BTCUSDT", "42780")  # DCA1 fills
    full_pool.send(
        symbol="BTCUSDT",
        intent="reduce",
        side=None,
        size="0.001",
        size_type="base",
        price="42780",
        trade_id="r",
    )
    assert Signal.objects.get(trade_id="r").status == SignalStatus.APPLIED
    full_pool.price("BTCUSDT", "42999")  # DCA1 takes profit on what the reduce left
    full_pool.price("BTCUSDT", "43430")  # DCA0 too; DCA2..4 still rest

    assert group_of("BTC/USDT").status == GroupStatus.LIVE  # nothing held, orders rest: still open
    assert Signal.objects.get(trade_id="sol").status == SignalStatus.QUEUED
    assert not PositionGroup.objects.filter(symbol="SOL/USDT").exists()
