"""The console shows prices at the market's tick and quantities at its step (dashboard.data.grid)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard.data.grid import NO_GRID, Grid, exit_side, fixed, places_of
from trading.core.types import MarketRules, OrderSide

D = Decimal
BTC = MarketRules(symbol="BTC/USDT", tick_size=D("0.01"), step_size=D("0.00001"))
HALF_TICK = MarketRules(symbol="X/USDT", tick_size=D("0.5"), step_size=D("10"))


@pytest.mark.parametrize(
    ("grid", "places"),
    [(D("0.01"), 2), (D("0.00001"), 5), (D("0.5"), 1), (D("10"), 0), (D("1E+1"), 0), (D("0.10"), 1)],
)
def test_a_grid_shows_as_many_decimals_as_its_step(grid: Decimal, places: int) -> None:
    assert places_of(grid) == places


@pytest.mark.parametrize(
    ("rules", "value", "shown"),
    [
        (BTC, D("42892.3333333"), "42892.33"),  # an average entry: nearest tick
        (BTC, D("43000"), "43000.00"),  # zeros kept: columns line up
        (BTC, D("42998.925"), "42998.92"),  # half-even to the nearest tick
        (HALF_TICK, D("12.74"), "12.5"),  # a 0.5 tick: a multiple of it, not just one decimal
        (HALF_TICK, D("12.76"), "13.0"),
    ],
)
def test_prices_go_to_the_nearest_tick(rules: MarketRules, value: Decimal, shown: str) -> None:
    assert Grid(rules, OrderSide.SELL).price(value) == shown


@pytest.mark.parametrize(
    ("side", "value", "shown"),
    [
        ("long", D("42998.925"), "42998.93"),  # a long closes with a sell: the first tick at or above
        ("short", D("42998.925"), "42998.92"),  # a short closes with a buy: the first tick at or below
        ("long", D("42998.92"), "42998.92"),  # already on the grid: unchanged
    ],
)
def test_a_take_profit_target_rounds_toward_its_trigger(side: str, value: Decimal, shown: str) -> None:
    assert Grid(BTC, exit_side(side)).target(value) == shown


@pytest.mark.parametrize(
    ("rules", "value", "shown"),
    [(BTC, D("0.002325581"), "0.00232"), (BTC, D("1"), "1.00000"), (HALF_TICK, D("125"), "120")],
)
def test_quantities_floor_to_the_step(rules: MarketRules, value: Decimal, shown: str) -> None:
    assert Grid(rules, OrderSide.SELL).qty(value) == shown


@pytest.mark.parametrize(
    ("value", "price", "qty"),
    [
        (D("43000.123"), "43000.12", "43000.123"),
        (D("2.315"), "2.3150", "2.315"),
        (D("0.6200001"), "0.620000", "0.6200001"),
    ],
)
def test_without_rules_the_size_of_a_number_picks_its_decimals(value: Decimal, price: str, qty: str) -> None:
    assert NO_GRID.price(value) == price
    assert NO_GRID.qty(value) == qty


def test_fixed_never_shows_minus_zero() -> None:
    assert fixed(D("-0.001"), 2) == "0.00"
    assert fixed(D("-1.005"), 2) == "-1.00"
