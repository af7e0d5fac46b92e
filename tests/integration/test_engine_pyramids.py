"""Pyramids: a further same-side entry adds a pyramid with its own ladder, up to max_pyramids_per_group."""

from __future__ import annotations

import pytest

from trading.models import Event, Pyramid, QueueEntry, Signal, SignalStatus

from ..conftest import configure
from .engine_world import BTC_LADDER_PRICES, D, group_of, legs_of, pyramid_of

pytestmark = pytest.mark.django_db


def test_same_side_entry_adds_a_pyramid_with_its_own_ladder_from_its_own_price(driver):
    driver.send(price="43000", trade_id="p0")
    driver.price("BTCUSDT", "43200")  # below DCA0's 1 % TP (43430): nothing closes
    driver.send(price="43200", trade_id="p1")

    group = group_of()
    assert group.pyramid_count == 2
    second = Signal.objects.get(trade_id="p1")
    assert second.status == SignalStatus.APPLIED
    assert second.reason == f"pyramid 2/5 on group #{group.pk}"
    assert pyramid_of(group, 1).base_price == D("43200")
    # The first ladder is untouched; the second one hangs off 43200.
    assert [leg.price for leg in legs_of(group, 0)] == BTC_LADDER_PRICES
    p1 = legs_of(group, 1)
    assert [leg.price for leg in p1] == [D("43200"), D("42984"), D("42768"), D("42552"), D("42336")]
    assert [leg.qty for leg in p1] == [D("0.00231"), D("0.00232"), D("0.00233"), D("0.00235"), D("0.00236")]
    assert p1[0].avg_fill_price == D("43200")


def test_sixth_pyramid_is_ignored_and_logged(driver):
    for n in range(6):
        driver.send(price="43000", trade_id=f"p{n}")

    group = group_of()
    assert group.pyramid_count == 5
    assert Pyramid.objects.filter(group=group).count() == 5
    sixth = Signal.objects.get(trade_id="p5")
    assert sixth.status == SignalStatus.IGNORED
    assert sixth.reason == f"ignored: 5/5 pyramids on group #{group.pk}"
    assert Event.objects.filter(signal_id_ref=sixth.pk, message__contains="ignored: 5/5 pyramids").exists()


def test_max_pyramids_per_group_comes_from_config(driver):
    configure(grid_strategy={"max_pyramids_per_group": 2})
    for n in range(3):
        driver.send(price="43000", trade_id=f"p{n}")

    assert group_of().pyramid_count == 2
    assert Signal.objects.get(trade_id="p2").reason.startswith("ignored: 2/2 pyramids")


def test_pyramids_never_take_a_pool_slot(driver):
    configure(execution_pool={"max_open_groups": 2})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc0")
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc1")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth0")  # 2 groups, 3 pyramids: a free slot

    eth = Signal.objects.get(trade_id="eth0")
    assert eth.status == SignalStatus.APPLIED
    assert eth.reason.startswith("opened group #")

    # The pool is now full, yet further pyramids still go straight in.
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc2")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth1")
    assert group_of("BTC/USDT").pyramid_count == 3
    assert group_of("ETH/USDT").pyramid_count == 2
    assert not QueueEntry.objects.exists()

    driver.send(symbol="SOLUSDT", price="20", trade_id="sol0")
    sol = Signal.objects.get(trade_id="sol0")
    assert sol.status == SignalStatus.QUEUED
    assert sol.reason == "queued: pool full 2/2"
