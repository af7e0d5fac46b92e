"""A slot freed inside a tick goes to the ranked queue first; a newer signal competes, it never jumps it."""

from __future__ import annotations

import pytest

from trading.models import GroupStatus, QueueEntry, Signal, SignalStatus

from ..conftest import configure
from .engine_world import group_of, seed_paper_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def b_waits(driver):
    """Pool of one: group A (BTC) is live, entry B (ETH) waits in the queue."""
    configure(execution_pool={"max_open_groups": 1})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="a")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="b")
    assert Signal.objects.get(trade_id="b").status == SignalStatus.QUEUED
    return driver


def test_a_freed_slot_goes_to_the_queue_before_a_newer_signal(b_waits):
    # "exit A" and "entry C" arrive within one tick: A closes at once on paper, freeing the slot
    # before C is decided.
    b_waits.webhook(symbol="BTCUSDT", intent="exit", side=None, trade_id="a-exit")
    b_waits.webhook(symbol="SOLUSDT", price="20", trade_id="c")
    b_waits.tick()

    assert group_of("BTC/USDT").status == GroupStatus.CLOSED
    b, c = Signal.objects.get(trade_id="b"), Signal.objects.get(trade_id="c")
    eth = group_of("ETH/USDT")
    assert (b.status, b.reason) == (SignalStatus.APPLIED, f"promoted from the queue: opened group #{eth.pk}")
    assert c.status == SignalStatus.QUEUED
    assert list(QueueEntry.objects.values_list("symbol", flat=True)) == ["SOL/USDT"]


def test_a_newer_signal_that_ranks_first_takes_the_freed_slot(b_waits):
    # ETH rose 4 % since B was queued: B's entry is now worse than C's (highest_loss_percent).
    b_waits.price("ETHUSDT", "2080")
    b_waits.webhook(symbol="BTCUSDT", intent="exit", side=None, trade_id="a-exit")
    b_waits.webhook(symbol="SOLUSDT", price="20", trade_id="c")
    b_waits.tick()

    sol = group_of("SOL/USDT")
    c = Signal.objects.get(trade_id="c")
    assert (c.status, c.reason) == (SignalStatus.APPLIED, f"promoted from the queue: opened group #{sol.pk}")
    assert Signal.objects.get(trade_id="b").status == SignalStatus.QUEUED
    assert list(QueueEntry.objects.values_list("symbol", flat=True)) == ["ETH/USDT"]


def test_with_a_slot_free_and_nothing_waiting_for_one_a_new_signal_opens_directly(driver):
    configure(execution_pool={"max_open_groups": 2})
    seed_paper_balance("BTC", "1")
    driver.send(symbol="BTCUSDT", price="43000", trade_id="long")
    driver.send(symbol="BTCUSDT", side="sell", price="43000", trade_id="short")  # waits: opposite side
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")

    eth = Signal.objects.get(trade_id="eth")
    assert (eth.status, eth.reason) == (SignalStatus.APPLIED, f"opened group #{group_of('ETH/USDT').pk}")


def test_reverse_still_takes_the_slot_its_own_group_freed_ahead_of_the_queue(b_waits):
    seed_paper_balance("BTC", "1")
    b_waits.send(symbol="BTCUSDT", intent="reverse", side="sell", price="43000", trade_id="rev")

    rev = Signal.objects.get(trade_id="rev")
    assert rev.status == SignalStatus.APPLIED
    assert rev.reason.startswith("reversed: opened group #")
    assert Signal.objects.get(trade_id="b").status == SignalStatus.QUEUED
