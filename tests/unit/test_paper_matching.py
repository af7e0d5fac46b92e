"""The paper exchange's pure matching and balance rules (and its deterministic price feeds)."""

from __future__ import annotations

import ast
import json
from decimal import Decimal
from pathlib import Path

import pytest

from exchanges.core import paper_matching as pm
from exchanges.core.adapter import OrderType
from exchanges.core.paper_matching import Fill, MatchOrder
from exchanges.paper_feeds import BUNDLED_BTC_USDT_1H, CandleReplayFeed, RandomWalkFeed
from trading.core.types import OrderSide

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
STEP = D("0.001")


def limit(
    side: OrderSide, price: str, qty: str = "1", filled: str = "0", *, rested: bool = True
) -> MatchOrder:
    """A limit order; by default one resting in the book (`rested=False`: still a taker)."""
    return MatchOrder(
        side=side, type=OrderType.LIMIT, qty=D(qty), filled_qty=D(filled), limit_price=D(price), rested=rested
    )


def market(side: OrderSide, qty: str = "1") -> MatchOrder:
    return MatchOrder(side=side, type=OrderType.MARKET, qty=D(qty), filled_qty=D(0), limit_price=None)


def fill_of(order: MatchOrder, last: str, *, ratio: str = "1", at_placement: bool = False) -> Fill | None:
    return pm.decide_fill(
        order, D(last), step_size=STEP, partial_fill_ratio=D(ratio), at_placement=at_placement
    )


def test_core_module_imports_neither_django_nor_ccxt() -> None:
    tree = ast.parse(Path(pm.__file__).read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    }
    assert not imported & {"django", "ccxt"}


@pytest.mark.parametrize(
    ("side", "limit_price", "last", "fills"),
    [
        (BUY, "100", "99", True),
        (BUY, "100", "100", True),  # touching the limit trades
        (BUY, "100", "100.01", False),
        (SELL, "100", "101", True),
        (SELL, "100", "100", True),
        (SELL, "100", "99.99", False),
    ],
)
def test_buy_limit_fills_at_or_below_and_sell_limit_at_or_above(
    side: OrderSide, limit_price: str, last: str, fills: bool
) -> None:
    assert (fill_of(limit(side, limit_price), last) is not None) is fills


def test_resting_order_crossed_later_fills_at_its_limit_as_maker() -> None:
    assert fill_of(limit(BUY, "100"), "95") == Fill(qty=D(1), price=D(100), maker=True)
    assert fill_of(limit(SELL, "100"), "105") == Fill(qty=D(1), price=D(100), maker=True)


def test_marketable_at_placement_fills_at_current_price_as_taker() -> None:
    assert fill_of(limit(BUY, "100"), "95", at_placement=True) == Fill(qty=D(1), price=D(95), maker=False)
    assert fill_of(limit(SELL, "100"), "105", at_placement=True) == Fill(qty=D(1), price=D(105), maker=False)


def test_rest_of_a_marketable_order_fills_at_the_market_price_clamped_by_its_limit() -> None:
    # DCA0's guard 100.5, half filled at placement; the market now trades at 99: the rest takes 99.
    rest = limit(BUY, "100.5", qty="1", filled="0.5", rested=False)
    assert fill_of(rest, "99", ratio="0.5") == Fill(qty=D("0.5"), price=D(99), maker=False)
    assert fill_of(rest, "100.5", ratio="0.5") == Fill(qty=D("0.5"), price=D("100.5"), maker=False)
    sell_rest = limit(SELL, "99.5", qty="1", filled="0.5", rested=False)
    assert fill_of(sell_rest, "101", ratio="0.5") == Fill(qty=D("0.5"), price=D(101), maker=False)


def test_an_order_rests_once_a_price_does_not_reach_its_limit() -> None:
    taker = limit(BUY, "100", rested=False)
    assert pm.rests_after(taker, D("99")) is False  # still marketable: still a taker
    assert pm.rests_after(taker, D("100.01")) is True  # the market left it: it rests from now on
    assert pm.rests_after(limit(BUY, "100"), D("99")) is True  # once resting, always resting
    assert pm.rests_after(limit(SELL, "100", rested=False), D("99.99")) is True
    assert pm.rests_after(market(BUY), D("99")) is False


def test_market_order_fills_fully_at_current_price_whatever_the_ratio() -> None:
    assert fill_of(market(BUY, "3"), "42", ratio="0.1", at_placement=True) == Fill(D(3), D(42), maker=False)
    assert fill_of(market(SELL, "3"), "42", ratio="0.1", at_placement=True) == Fill(D(3), D(42), maker=False)


def test_done_order_or_nonpositive_price_fills_nothing() -> None:
    assert fill_of(limit(BUY, "100", qty="1", filled="1"), "90") is None
    assert fill_of(limit(BUY, "100"), "0") is None


@pytest.mark.parametrize(
    ("qty", "filled", "ratio", "expected"),
    [
        ("1", "0", "0.5", "0.5"),
        ("1", "0.5", "0.5", "0.5"),  # the rest on the next update
        ("1", "0.8", "0.5", "0.2"),  # never more than remains
        ("0.003", "0", "0.5", "0.001"),  # 0.0015 floors to the step
        ("0.001", "0", "0.1", "0.001"),  # 0.0001 < one step: at least one step
        ("1", "0", "1", "1"),
    ],
)
def test_partial_fill_ratio_caps_each_fill_on_the_step_grid(
    qty: str, filled: str, ratio: str, expected: str
) -> None:
    fill = fill_of(limit(BUY, "100", qty=qty, filled=filled), "99", ratio=ratio)
    assert fill is not None and fill.qty == D(expected)


@pytest.mark.parametrize("ratio", ["0", "-0.5", "1.01"])
def test_partial_fill_ratio_outside_zero_to_one_is_refused(ratio: str) -> None:
    with pytest.raises(ValueError):
        pm.check_ratio(D(ratio))


def test_fee_is_notional_times_percent_rounded_up_to_eight_decimals() -> None:
    assert pm.fee_for(D("30000"), D("0.1")) == D("30")
    assert pm.fee_for(D("0.4325123"), D("0.1")) == D("0.00043252")  # 0.0004325123 rounds up
    assert pm.fee_for(D("100"), D("0")) == D("0")


def test_buy_spends_cost_plus_fee_and_sell_receives_proceeds_minus_fee() -> None:
    fill = Fill(qty=D("0.5"), price=D("200"), maker=False)
    assert pm.balance_change(BUY, fill, D("0.1")) == pm.BalanceChange(base=D("0.5"), quote=D("-100.1"))
    assert pm.balance_change(SELL, fill, D("0.1")) == pm.BalanceChange(base=D("-0.5"), quote=D("99.9"))


def test_buy_needs_qty_times_price_plus_fee_in_quote_and_sell_needs_base_qty() -> None:
    assert pm.required_funds(BUY, D("2"), D("50"), D("0.1")) == D("100.1")
    assert pm.required_funds(SELL, D("2"), D("50"), D("0.1")) == D("2")
    short = pm.funds_shortfall(BUY, D("2"), D("50"), D("0.1"), free_base=D(0), free_quote=D("100"))
    assert short == D("0.1")
    assert pm.funds_shortfall(SELL, D("2"), D("50"), D("0.1"), free_base=D("2"), free_quote=D(0)) == 0


def test_resting_order_locks_what_its_unfilled_part_needs() -> None:
    assert pm.lock_for_remaining(limit(BUY, "100", qty="2", filled="0.5"), D("0.1")) == D("150.15")
    assert pm.lock_for_remaining(limit(SELL, "100", qty="2", filled="0.5"), D("0.1")) == D("1.5")
    assert pm.lock_for_remaining(limit(BUY, "100", qty="2", filled="2"), D("0.1")) == 0


def test_split_symbol() -> None:
    assert pm.split_symbol("BTC/USDT") == ("BTC", "USDT")
    assert pm.split_symbol("BTC/USDT:USDT") == ("BTC", "USDT")
    with pytest.raises(ValueError):
        pm.split_symbol("BTCUSDT")


# ---- price feeds ------------------------------------------------------------------------------


def test_random_walk_is_deterministic_per_seed_and_independent_of_symbol_order() -> None:
    start = {"BTC/USDT": D("30000"), "ETH/USDT": D("2000")}
    a = RandomWalkFeed(7, D("1"), start)
    b = RandomWalkFeed(7, D("1"), start)
    path_a = [a.next_prices(["BTC/USDT", "ETH/USDT"]) for _ in range(5)]
    path_b = [b.next_prices(["ETH/USDT", "BTC/USDT"]) for _ in range(5)]
    assert path_a == path_b
    assert path_a != [
        RandomWalkFeed(8, D("1"), start).next_prices(["BTC/USDT", "ETH/USDT"]) for _ in range(5)
    ]
    for prices in path_a:
        for price in prices.values():
            assert price > 0 and price == price.quantize(D("0.00000001"))


def test_random_walk_leaves_out_symbols_without_a_start_price() -> None:
    feed = RandomWalkFeed(1, D("1"), {"BTC/USDT": D("30000")})
    assert set(feed.next_prices(["BTC/USDT", "XRP/USDT"])) == {"BTC/USDT"}


def test_candle_replay_yields_closes_in_order_and_loops(tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT-1h.json"
    path.write_text(json.dumps([[0, 1.0, 2.0, 0.5, 1.5, 10.0], [3600000, 1.5, 2.5, 1.0, 2.25, 9.0]]))
    feed = CandleReplayFeed(path)
    assert feed.symbol == "ETH/USDT"
    assert [feed.next_prices(["ETH/USDT"])["ETH/USDT"] for _ in range(3)] == [D("1.5"), D("2.25"), D("1.5")]
    assert feed.next_prices(["BTC/USDT"]) == {}


def test_candle_replay_reads_the_bundled_btc_file_exactly() -> None:
    feed = CandleReplayFeed(BUNDLED_BTC_USDT_1H)
    assert feed.symbol == "BTC/USDT"
    assert len(feed) == 5482
    assert feed.next_close() == D("19565.47")  # the first bar's close, 2020-12-01 00:00 UTC
