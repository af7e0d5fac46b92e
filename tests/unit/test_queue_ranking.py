from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from trading.core.queue import (
    PRIORITY_RULES,
    QueuedEntry,
    RankedEntry,
    expected_profit,
    is_expired,
    queued_loss_percent,
    rank_queue,
    select_evictee,
)
from trading.core.types import DcaLevel, Side

T0 = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)


def entry(
    entry_id: int,
    *,
    symbol: str = "BTC/USDT",
    side: Side = Side.LONG,
    price: str = "100",
    replacements: int = 0,
    minutes: int = 0,
    profit: str = "1",
    continuation: bool = False,
) -> QueuedEntry:
    return QueuedEntry(
        entry_id=entry_id,
        symbol=symbol,
        timeframe="15m",
        side=side,
        entry_price=D(price),
        replacement_count=replacements,
        queued_at=T0 + timedelta(minutes=minutes),
        expected_profit=D(profit),
        continuation=continuation,
    )


def ids(ranked: list[RankedEntry]) -> list[int]:
    return [r.entry.entry_id for r in ranked]


def test_long_loss_percent_is_negative_when_price_fell_below_entry() -> None:
    assert queued_loss_percent(Side.LONG, D(100), D(97)) == D(-3)
    assert queued_loss_percent(Side.LONG, D(100), D(102)) == D(2)


def test_short_loss_percent_mirrors_long() -> None:
    assert queued_loss_percent(Side.SHORT, D(100), D(103)) == D(-3)
    assert queued_loss_percent(Side.SHORT, D(100), D(98)) == D(2)


def test_expected_profit_sums_weight_times_tp_of_size() -> None:
    levels = [DcaLevel(D(0), D(50), D(1)), DcaLevel(D(-1), D(50), D(3))]
    # 0.5 x 1% x 1000 + 0.5 x 3% x 1000 = 5 + 15
    assert expected_profit(levels, D(1000)) == D(20)


def test_continuation_ranks_before_everything_else() -> None:
    entries = [entry(1, price="100", replacements=9), entry(2, price="100", continuation=True)]
    ranked = rank_queue(entries, {"BTC/USDT": D(90)}, PRIORITY_RULES)
    assert ids(ranked) == [2, 1]
    assert [r.rank for r in ranked] == [1, 2]


def test_deepest_current_loss_ranks_first() -> None:
    entries = [
        entry(1, symbol="BTC/USDT", price="100"),  # live 99 -> -1%
        entry(2, symbol="ETH/USDT", price="100"),  # live 95 -> -5%
        entry(3, symbol="SOL/USDT", price="100"),  # live 102 -> +2%
    ]
    live = {"BTC/USDT": D(99), "ETH/USDT": D(95), "SOL/USDT": D(102)}
    ranked = rank_queue(entries, live, ["highest_loss_percent"])
    assert ids(ranked) == [2, 1, 3]
    assert [r.loss_percent for r in ranked] == [D(-5), D(-1), D(2)]


def test_entries_without_live_price_sort_after_priced_ones() -> None:
    entries = [entry(1, symbol="NEW/USDT"), entry(2, symbol="BTC/USDT", price="100")]
    ranked = rank_queue(entries, {"BTC/USDT": D(110)}, ["highest_loss_percent"])
    assert ids(ranked) == [2, 1]
    assert ranked[1].loss_percent is None


def test_more_replacements_rank_first() -> None:
    ranked = rank_queue(
        [entry(1, replacements=1), entry(2, replacements=4)], {}, ["highest_replacement_count"]
    )
    assert ids(ranked) == [2, 1]


def test_higher_expected_profit_ranks_first() -> None:
    ranked = rank_queue([entry(1, profit="2"), entry(2, profit="7.5")], {}, ["highest_expected_profit"])
    assert ids(ranked) == [2, 1]


def test_fifo_ranks_oldest_first() -> None:
    ranked = rank_queue([entry(1, minutes=5), entry(2, minutes=1)], {}, ["fifo"])
    assert ids(ranked) == [2, 1]


def test_rules_apply_in_the_configured_order() -> None:
    entries = [entry(1, replacements=3, minutes=9), entry(2, replacements=1, minutes=0)]
    assert ids(rank_queue(entries, {}, ["highest_replacement_count", "fifo"])) == [1, 2]
    assert ids(rank_queue(entries, {}, ["fifo", "highest_replacement_count"])) == [2, 1]


def test_later_rules_break_ties_of_earlier_ones() -> None:
    entries = [entry(1, replacements=2, profit="1"), entry(2, replacements=2, profit="5")]
    ranked = rank_queue(entries, {}, ["highest_replacement_count", "highest_expected_profit"])
    assert ids(ranked) == [2, 1]


def test_rule_missing_from_priority_is_not_used() -> None:
    entries = [entry(1, continuation=False, minutes=0), entry(2, continuation=True, minutes=5)]
    assert ids(rank_queue(entries, {}, ["fifo"])) == [1, 2]


def test_full_ties_fall_back_to_entry_id() -> None:
    ranked = rank_queue([entry(7), entry(3), entry(5)], {}, PRIORITY_RULES)
    assert ids(ranked) == [3, 5, 7]


def test_unknown_priority_rule_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown queue priority rule"):
        rank_queue([entry(1)], {}, ["biggest_symbol"])


def test_entry_expires_at_max_age() -> None:
    assert not is_expired(T0, T0 + timedelta(minutes=29, seconds=59), 30)
    assert is_expired(T0, T0 + timedelta(minutes=30), 30)


def test_zero_max_age_never_expires() -> None:
    assert not is_expired(T0, T0 + timedelta(days=365), 0)


def test_expiry_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(datetime(2024, 5, 3, 10, 0), T0, 30)


def test_evictee_is_the_lowest_ranked_entry() -> None:
    ranked = rank_queue([entry(1, minutes=0), entry(2, minutes=3), entry(3, minutes=1)], {}, ["fifo"])
    evictee = select_evictee(ranked)
    assert evictee is not None and evictee.entry_id == 2


def test_empty_queue_has_no_evictee() -> None:
    assert select_evictee([]) is None
