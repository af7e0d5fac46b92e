"""Operator commands from the command table: close a group, and promote, remove or force queue entries."""

from __future__ import annotations

import pytest

from trading.models import Command, CommandStatus, GroupStatus, QueueEntry, Signal, SignalStatus, Trade

from ..conftest import configure
from .engine_world import group_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_slot_taken(driver):
    configure(execution_pool={"max_open_groups": 1})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    return driver


def command(driver, kind: str, **args) -> Command:
    cmd = Command.objects.create(kind=kind, args=args, created_at=driver.engine.ctx.now())
    driver.tick()
    cmd.refresh_from_db()
    return cmd


def queued(driver, symbol: str, price: str, trade_id: str) -> QueueEntry:
    driver.send(symbol=symbol, price=price, trade_id=trade_id)
    return QueueEntry.objects.get(signal__trade_id=trade_id)


def test_close_group_closes_at_market_and_records_a_manual_trade(driver):
    driver.send(price="43000")
    group = group_of()
    cmd = command(driver, "close_group", group_id=group.pk)

    assert (cmd.status, cmd.result) == (CommandStatus.APPLIED, f"closing group #{group.pk}")
    group.refresh_from_db()
    assert (group.status, group.close_reason) == (GroupStatus.CLOSED, "closed by operator")
    assert Trade.objects.get().reason == "manual"

    again = command(driver, "close_group", group_id=group.pk)
    assert (again.status, again.result) == (CommandStatus.FAILED, f"group #{group.pk} is not open")


def test_promote_moves_an_entry_to_the_head_of_the_queue(one_slot_taken):
    queued(one_slot_taken, "ETHUSDT", "2000", "eth")
    sol = queued(one_slot_taken, "SOLUSDT", "20", "sol")
    one_slot_taken.price("ETHUSDT", "1900")  # ETH would rank first on its deeper loss

    cmd = command(one_slot_taken, "queue_promote", entry_id=sol.pk)
    assert (cmd.status, cmd.result) == (
        CommandStatus.APPLIED,
        f"queue entry #{sol.pk} moved to the head of the queue (pool full)",
    )
    one_slot_taken.send(symbol="BTCUSDT", intent="exit", side=None, trade_id="x")
    assert group_of("SOL/USDT").is_open
    assert QueueEntry.objects.get().symbol == "ETH/USDT"


def test_promote_opens_the_entry_at_once_when_a_slot_is_free(one_slot_taken):
    eth = queued(one_slot_taken, "ETHUSDT", "2000", "eth")
    configure(execution_pool={"max_open_groups": 2})

    cmd = command(one_slot_taken, "queue_promote", entry_id=eth.pk)
    assert (cmd.status, cmd.result) == (
        CommandStatus.APPLIED,
        f"queue entry #{eth.pk} promoted into the pool",
    )
    signal = Signal.objects.get(trade_id="eth")
    assert signal.reason == f"promoted from the queue: opened group #{group_of('ETH/USDT').pk}"


def test_remove_drops_the_entry_and_says_why(one_slot_taken):
    eth = queued(one_slot_taken, "ETHUSDT", "2000", "eth")

    cmd = command(one_slot_taken, "queue_remove", entry_id=eth.pk)
    assert (cmd.status, cmd.result) == (CommandStatus.APPLIED, f"queue entry #{eth.pk} removed")
    assert not QueueEntry.objects.exists()
    signal = Signal.objects.get(trade_id="eth")
    assert (signal.status, signal.reason) == (SignalStatus.IGNORED, "removed by operator")

    missing = command(one_slot_taken, "queue_remove", entry_id=eth.pk)
    assert (missing.status, missing.result) == (
        CommandStatus.FAILED,
        f"queue entry #{eth.pk} no longer exists",
    )


def test_force_opens_the_entry_beyond_the_pool_limit(one_slot_taken):
    eth = queued(one_slot_taken, "ETHUSDT", "2000", "eth")

    cmd = command(one_slot_taken, "queue_force", entry_id=eth.pk)
    assert (cmd.status, cmd.result) == (CommandStatus.APPLIED, f"queue entry #{eth.pk} forced into the pool")
    eth_group = group_of("ETH/USDT")
    assert Signal.objects.get(trade_id="eth").reason == f"forced into the pool: opened group #{eth_group.pk}"
    assert group_of("BTC/USDT").is_open  # two groups live on a pool of one

    one_slot_taken.send(symbol="SOLUSDT", price="20", trade_id="sol")
    assert Signal.objects.get(trade_id="sol").reason == "queued: pool full 2/1"
