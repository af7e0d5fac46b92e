"""The capital split behind the analytics page's allocation table and TVL gauge (trading.core.capital)."""

from __future__ import annotations

from decimal import Decimal

from trading.core.capital import Exposure, allocation

D = Decimal


def test_deployed_resting_and_free_shares_of_the_capital_add_up_to_100():
    split = allocation(
        [Exposure("BTC/USDT", D("600"), D("200"), 1), Exposure("ETH/USDT", D("100"), D("100"), 2)],
        free=D("9000"),
        pool_used=3,
        pool_max=4,
    )
    assert (split.deployed, split.resting, split.capital) == (D("700"), D("300"), D("10000"))
    assert (split.deployed_percent, split.resting_percent, split.free_percent) == (D("7"), D("3"), D("90"))
    assert split.deployed_percent + split.resting_percent + split.free_percent == 100
    assert split.pool_percent == D("75")


def test_pairs_are_ordered_by_commitment_with_their_share_of_it():
    split = allocation(
        [Exposure("ETH/USDT", D("100"), D("100"), 2), Exposure("BTC/USDT", D("600"), D("200"), 1)],
        free=None,
        pool_used=3,
        pool_max=10,
    )
    assert [(p.symbol, p.share_percent) for p in split.pairs] == [
        ("BTC/USDT", D("80")),
        ("ETH/USDT", D("20")),
    ]


def test_without_a_known_free_balance_there_are_no_capital_shares():
    split = allocation([Exposure("BTC/USDT", D("50"), D("0"), 1)], free=None, pool_used=1, pool_max=5)
    assert split.capital is None
    assert (split.deployed_percent, split.resting_percent, split.free_percent) == (None, None, None)
    assert split.deployed == D("50")


def test_nothing_open_and_no_pool_is_zero_not_a_division_error():
    split = allocation([], free=D("1000"), pool_used=0, pool_max=0)
    assert (split.deployed_percent, split.free_percent, split.pool_percent) == (D("0"), D("100"), None)
    assert split.pairs == []
