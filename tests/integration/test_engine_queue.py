"""The waiting queue: replacement, removal by exit, opposite side, ranking, limit and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchanges.models import ExchangeAccount
from trading.engine import queueing
from trading.models import Event, GroupStatus, QueueEntry, Signal, SignalStatus

from ..conftest import configure
from .engine_world import D, group_of, seed_paper_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_slot_taken(driver):
    """max_open_groups 1, held by a BTC long: every new market waits in the queue."""
    configure(execution_pool={"max_open_groups": 1})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    return driver


def queue(driver, symbol: str, price: str, trade_id: str, size: str = "500") -> Signal:
    driver.send(symbol=symbol, price=price, size=size, trade_id=trade_id)
    return Signal.objects.get(trade_id=trade_id)


def free_the_slot(driver) -> None:
    driver.send(symbol="BTCUSDT", intent="exit", side=None, trade_id="btc-exit")
    assert group_of("BTC/USDT").status == GroupStatus.CLOSED


def promoted_symbols() -> list[str]:
    return list(
        Signal.objects.filter(reason__startswith="promoted from the queue").values_list("symbol", flat=True)
    )


def test_newer_signal_for_the_same_market_replaces_the_queued_one(one_slot_taken):
    first = queue(one_slot_taken, "ETHUSDT", "2000", "q1")
    second = queue(one_slot_taken, "ETHUSDT", "1990", "q2")

    entry = QueueEntry.objects.get()
    assert (entry.signal_id, entry.entry_price, entry.replacement_count) == (second.pk, D("1990"), 1)
    first.refresh_from_db()
    assert (first.status, first.reason) == (
        SignalStatus.IGNORED,
        f"replaced in the queue by signal #{second.pk}",
    )
    assert (second.status, second.reason) == (
        SignalStatus.QUEUED,
        "queued: replaced queued entry (1 replacements)",
    )


def test_without_replacement_the_newer_signal_is_ignored(one_slot_taken):
    configure(waiting_rule={"queue_replace_same_symbol": False})
    queue(one_slot_taken, "ETHUSDT", "2000", "q1")
    second = queue(one_slot_taken, "ETHUSDT", "1990", "q2")

    entry = QueueEntry.objects.get()
    assert (entry.entry_price, entry.replacement_count) == (D("2000"), 0)
    assert second.status == SignalStatus.IGNORED
    assert second.reason == f"ignored: already queued as entry #{entry.pk} (replacement is off)"


def test_exit_for_a_queued_signal_deletes_it(one_slot_taken):
    queued = queue(one_slot_taken, "ETHUSDT", "2000", "q1")
    entry_id = QueueEntry.objects.get().pk
    one_slot_taken.send(symbol="ETHUSDT", intent="exit", side=None, trade_id="eth-exit")

    assert not QueueEntry.objects.exists()
    exit_signal = Signal.objects.get(trade_id="eth-exit")
    assert (exit_signal.status, exit_signal.reason) == (
        SignalStatus.APPLIED,
        f"removed queued entry #{entry_id}",
    )
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == (
        SignalStatus.IGNORED,
        f"removed by exit signal #{exit_signal.pk}",
    )
    free_the_slot(one_slot_taken)
    assert promoted_symbols() == []


def test_opposite_side_entry_waits_until_the_live_group_closes(driver):
    seed_paper_balance("BTC", "1")
    configure(grid_strategy={"tp_mode": "aggregate", "aggregate_tp_percent": "0.2"})
    driver.send(price="43000", trade_id="long")
    long_group = group_of()
    driver.send(side="sell", price="43000", trade_id="short")

    short = Signal.objects.get(trade_id="short")
    assert (short.status, short.reason) == (
        SignalStatus.QUEUED,
        f"queued: long group #{long_group.pk} still live on this market",
    )
    assert QueueEntry.objects.get().reason == "opposite_side"

    driver.price("BTCUSDT", "43086")  # 43000 x 1.002: the long takes profit and closes
    long_group.refresh_from_db()
    assert long_group.status == GroupStatus.CLOSED
    short.refresh_from_db()
    short_group = long_group.account.groups.get(side="short")
    assert (short.status, short.reason) == (
        SignalStatus.APPLIED,
        f"promoted from the queue: opened group #{short_group.pk}",
    )


def test_deepest_loss_is_promoted_before_an_older_entry(one_slot_taken):
    queue(one_slot_taken, "ETHUSDT", "2000", "eth")  # older, live price = entry: 0 %
    queue(one_slot_taken, "SOLUSDT", "20", "sol")
    one_slot_taken.price("SOLUSDT", "19.2")  # SOL's queued entry now shows -4 % (within the 5 % guard)

    ranked = queueing.ranked(one_slot_taken.engine.ctx)
    assert [(r.entry.symbol, r.loss_percent) for r in ranked] == [("SOL/USDT", D(-4)), ("ETH/USDT", D(0))]
    free_the_slot(one_slot_taken)
    assert promoted_symbols() == ["SOL/USDT"]
    assert QueueEntry.objects.get().symbol == "ETH/USDT"


def test_more_replacements_win_over_age(one_slot_taken):
    queue(one_slot_taken, "ETHUSDT", "2000", "eth")
    queue(one_slot_taken, "SOLUSDT", "20", "sol1")
    queue(one_slot_taken, "SOLUSDT", "20", "sol2")  # same price: only the replacement count differs

    free_the_slot(one_slot_taken)
    assert promoted_symbols() == ["SOL/USDT"]


def test_higher_expected_profit_wins_over_age(one_slot_taken):
    queue(one_slot_taken, "ETHUSDT", "2000", "eth", size="300")
    queue(one_slot_taken, "SOLUSDT", "20", "sol", size="500")

    # Σ weight x tp x size: 20 % x (1 + 0.5 + 2 + 1.5 + 1) % x size = 0.012 x size.
    profits = dict(QueueEntry.objects.values_list("symbol", "expected_profit"))
    assert profits == {"ETH/USDT": D("3.6"), "SOL/USDT": D("6")}
    free_the_slot(one_slot_taken)
    assert promoted_symbols() == ["SOL/USDT"]


def test_otherwise_the_oldest_entry_goes_first(one_slot_taken):
    queue(one_slot_taken, "ETHUSDT", "2000", "eth")
    queue(one_slot_taken, "SOLUSDT", "20", "sol")

    free_the_slot(one_slot_taken)
    assert promoted_symbols() == ["ETH/USDT"]


def test_selection_priority_is_read_from_config(one_slot_taken):
    configure(waiting_rule={"selection_priority": ["fifo"]})
    queue(one_slot_taken, "ETHUSDT", "2000", "eth", size="300")
    queue(one_slot_taken, "SOLUSDT", "20", "sol")
    one_slot_taken.price("SOLUSDT", "19")  # deeper loss and more profit, but only fifo counts now

    free_the_slot(one_slot_taken)
    assert promoted_symbols() == ["ETH/USDT"]


def test_continuation_of_a_live_group_ranks_first_and_bypasses_the_pool(one_slot_taken):
    engine = one_slot_taken.engine
    ExchangeAccount.objects.update(markets_synced_at=engine.ctx.now() - timedelta(days=30))
    queue(one_slot_taken, "ETHUSDT", "2000", "eth")  # held: rules are stale
    queue(one_slot_taken, "BTCUSDT", "43000", "btc-p1")  # a pyramid for the live BTC group, also held
    one_slot_taken.price("ETHUSDT", "1900")  # ETH now shows the deeper loss

    assert [r.entry.symbol for r in queueing.ranked(engine.ctx)] == ["BTC/USDT", "ETH/USDT"]
    engine.refresh_markets()
    one_slot_taken.tick()
    assert group_of("BTC/USDT").pyramid_count == 2  # promoted although the pool is full
    assert promoted_symbols() == ["BTC/USDT"]
    assert QueueEntry.objects.get().symbol == "ETH/USDT"


def test_queue_limit_evicts_the_lowest_ranked_entry(one_slot_taken):
    configure(waiting_rule={"queue_limit": 2})
    queue(one_slot_taken, "ETHUSDT", "2000", "eth", size="500")  # expected profit 6
    sol = queue(one_slot_taken, "SOLUSDT", "20", "sol", size="300")  # 3.6: ranks last
    ltc = queue(one_slot_taken, "LTCUSDT", "70", "ltc", size="400")  # 4.8

    assert sorted(QueueEntry.objects.values_list("symbol", flat=True)) == ["ETH/USDT", "LTC/USDT"]
    sol.refresh_from_db()
    assert (sol.status, sol.reason) == (
        SignalStatus.IGNORED,
        "evicted: queue limit 2 reached and it ranked last",
    )
    assert ltc.status == SignalStatus.QUEUED
    assert Event.objects.filter(
        signal_id_ref=sol.pk, severity="warning", message__contains="evicted: queue limit 2"
    ).exists()


def test_a_newcomer_that_ranks_last_on_a_full_queue_is_rejected(one_slot_taken):
    configure(waiting_rule={"queue_limit": 2})
    queue(one_slot_taken, "ETHUSDT", "2000", "eth")
    queue(one_slot_taken, "SOLUSDT", "20", "sol")
    ltc = queue(one_slot_taken, "LTCUSDT", "70", "ltc", size="300")

    assert (ltc.status, ltc.reason) == (
        SignalStatus.REJECTED,
        "rejected: queue full (2) and this entry ranked last",
    )
    assert sorted(QueueEntry.objects.values_list("symbol", flat=True)) == ["ETH/USDT", "SOL/USDT"]


def test_queued_entry_expires_after_max_queue_age_and_is_logged(one_slot_taken, clock):
    configure(waiting_rule={"max_queue_age_minutes": 30})
    eth = queue(one_slot_taken, "ETHUSDT", "2000", "eth")

    clock.advance(minutes=29)
    one_slot_taken.tick()
    assert QueueEntry.objects.exists()

    clock.advance(minutes=1)
    one_slot_taken.tick()
    assert not QueueEntry.objects.exists()
    eth.refresh_from_db()
    assert (eth.status, eth.reason) == (SignalStatus.IGNORED, "expired after 30 min in the queue")
    assert Event.objects.filter(signal_id_ref=eth.pk, message__contains="expired after 30 min").exists()
    free_the_slot(one_slot_taken)
    assert promoted_symbols() == []


def test_a_replacement_restarts_the_queue_age(one_slot_taken, clock):
    configure(waiting_rule={"max_queue_age_minutes": 30})
    queue(one_slot_taken, "ETHUSDT", "2000", "eth1")
    clock.advance(minutes=20)
    one_slot_taken.engine.refresh_markets()
    queue(one_slot_taken, "ETHUSDT", "1995", "eth2")
    clock.advance(minutes=20)
    one_slot_taken.tick()

    assert QueueEntry.objects.get().entry_price == D("1995")  # 40 min after the first, 20 after the latest
