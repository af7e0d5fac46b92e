from __future__ import annotations

from decimal import ROUND_FLOOR
from decimal import Decimal as D

import pytest

from trading.core.ladder import build_ladder, dca0_guard_price, validate_levels
from trading.core.sizing import PyramidSize
from trading.core.types import DcaLevel, MarketRules, Side

BTC = MarketRules(
    "BTC/USDT", tick_size=D("0.01"), step_size=D("0.00001"), min_qty=D("0.00001"), min_notional=D(5)
)

# The product spec's example ladder.
SPEC_LEVELS = [
    DcaLevel(D("0"), D(20), D("1")),
    DcaLevel(D("-0.5"), D(20), D("0.5")),
    DcaLevel(D("-1"), D(20), D("2")),
    DcaLevel(D("-1.5"), D(20), D("1.5")),
    DcaLevel(D("-2"), D(20), D("1")),
]


def levels(*rows: tuple[str, int]) -> list[DcaLevel]:
    return [DcaLevel(D(gap), D(weight), D(1)) for gap, weight in rows]


def quote(amount: str) -> PyramidSize:
    return PyramidSize(D(amount), "quote")


def floor_step(value: D) -> D:
    return value.quantize(D("0.00001"), rounding=ROUND_FLOOR)


def test_spec_example_long_ladder_prices_and_quantities() -> None:
    plan = build_ladder(Side.LONG, D(43000), quote("500"), SPEC_LEVELS, BTC)

    # 500 USDT x 20% = 100 USDT per leg; price = 43000 x (1 + gap/100); qty = floor(100 / price).
    assert 43000 * D("0.995") == D("42785.000")
    expected = [
        (D("43000.00"), floor_step(D(100) / D("43000")), D("0.00232")),
        (D("42785.00"), floor_step(D(100) / D("42785")), D("0.00233")),
        (D("42570.00"), floor_step(D(100) / D("42570")), D("0.00234")),
        (D("42355.00"), floor_step(D(100) / D("42355")), D("0.00236")),
        (D("42140.00"), floor_step(D(100) / D("42140")), D("0.00237")),
    ]
    assert plan.ok
    assert plan.adjustments == ()
    for leg, (price, computed_qty, hand_qty) in zip(plan.legs, expected, strict=True):
        assert computed_qty == hand_qty
        assert leg.price == price
        assert leg.qty == hand_qty
        assert leg.weight_percent == 20
        assert not leg.skipped
    assert [leg.tp_percent for leg in plan.legs] == [D(1), D("0.5"), D(2), D("1.5"), D(1)]
    assert plan.total_qty == D("0.01172")


def test_long_ladder_prices_sit_below_base_by_gap() -> None:
    plan = build_ladder(Side.LONG, D(43000), quote("500"), SPEC_LEVELS, BTC)
    assert [leg.price for leg in plan.legs] == [D(43000), D(42785), D(42570), D(42355), D(42140)]


def test_short_ladder_mirrors_above_base() -> None:
    plan = build_ladder(Side.SHORT, D(43000), quote("500"), SPEC_LEVELS, BTC)

    # price = 43000 x (1 - gap/100); qty = floor(100 / price).
    assert [leg.price for leg in plan.legs] == [D(43000), D(43215), D(43430), D(43645), D(43860)]
    assert [leg.qty for leg in plan.legs] == [
        D("0.00232"),
        D("0.00231"),
        D("0.00230"),
        D("0.00229"),
        D("0.00227"),
    ]


def test_leg_prices_round_for_the_entry_side_long_down_short_up() -> None:
    rules = MarketRules("X/USDT", tick_size=D("0.01"), step_size=D("0.001"))
    rows = levels(("0", 50), ("-0.5", 50))

    long_plan = build_ladder(Side.LONG, D("123.45"), quote("100"), rows, rules)
    short_plan = build_ladder(Side.SHORT, D("123.45"), quote("100"), rows, rules)

    # 123.45 x 0.995 = 122.83275 -> buy rounds down; 123.45 x 1.005 = 124.06725 -> sell rounds up.
    assert long_plan.legs[1].price == D("122.83")
    assert short_plan.legs[1].price == D("124.07")


def test_leg_below_min_notional_merges_into_next_deeper_leg() -> None:
    # DCA1 holds 2% of 200 = 4 USDT, below the 5 USDT minimum.
    plan = build_ladder(Side.LONG, D(43000), quote("200"), levels(("0", 50), ("-0.5", 2), ("-1", 48)), BTC)

    assert plan.ok
    skipped = plan.legs[1]
    assert (skipped.skipped, skipped.qty, skipped.weight_percent, skipped.merged_into) == (True, 0, 0, 2)
    assert plan.legs[2].weight_percent == 50
    assert plan.legs[2].qty == floor_step(D(100) / D(42570))
    # 4 / 42785 floors to 0.00009, worth 42785 x 0.00009 = 3.85065.
    assert plan.adjustments == ("DCA1 merged into DCA2: notional 3.85065 below minimum 5",)


def test_merge_chain_reports_the_leg_that_finally_holds_the_weight() -> None:
    # DCA1 (2 USDT) merges into DCA2, which at 4 USDT still fails and merges into DCA3.
    rows = levels(("0", 60), ("-0.5", 1), ("-1", 1), ("-1.5", 38))
    plan = build_ladder(Side.LONG, D(43000), quote("200"), rows, BTC)

    assert plan.ok
    assert [leg.merged_into for leg in plan.legs] == [None, 3, 3, None]
    assert plan.legs[3].weight_percent == 40
    assert [note.split(":")[0] for note in plan.adjustments] == [
        "DCA1 merged into DCA2",
        "DCA2 merged into DCA3",
    ]


def test_last_leg_below_minimum_merges_into_dca0() -> None:
    plan = build_ladder(Side.LONG, D(43000), quote("200"), levels(("0", 50), ("-0.5", 48), ("-1", 2)), BTC)

    assert plan.ok
    assert plan.legs[2].skipped and plan.legs[2].merged_into == 0
    assert plan.legs[0].weight_percent == 52
    assert plan.legs[0].qty == floor_step(D(104) / D(43000)) == D("0.00241")
    assert plan.adjustments[0].startswith("DCA2 merged into DCA0: notional")


def test_dca0_below_minimum_takes_the_deepest_legs_weight() -> None:
    # DCA0 is the entry and cannot be dropped; the deepest active leg is folded into it.
    plan = build_ladder(Side.LONG, D(43000), quote("200"), levels(("0", 2), ("-0.5", 49), ("-1", 49)), BTC)

    assert plan.ok
    assert [leg.weight_percent for leg in plan.legs] == [51, 49, 0]
    assert plan.legs[2].merged_into == 0
    # 4 / 43000 floors to 0.00009, worth 3.87.
    assert plan.adjustments == ("DCA2 merged into DCA0: DCA0 notional 3.87 below minimum 5",)


def test_leg_below_min_qty_merges_too() -> None:
    rules = MarketRules("BTC/USDT", tick_size=D("0.01"), step_size=D("0.0001"), min_qty=D("0.001"))
    plan = build_ladder(Side.LONG, D(43000), PyramidSize(D("0.004"), "base"), SPEC_LEVELS, rules)

    # Each leg is 0.0008 BTC: DCA1->DCA2 and DCA3->DCA4 (0.0016 each), then DCA0 takes DCA4.
    assert plan.ok
    assert [leg.weight_percent for leg in plan.legs] == [60, 0, 40, 0, 0]
    assert [leg.qty for leg in plan.legs] == [D("0.0024"), 0, D("0.0016"), 0, 0]
    assert plan.adjustments[0] == "DCA1 merged into DCA2: quantity 0.0008 below minimum 0.001"


def test_pyramid_below_market_minimum_is_refused() -> None:
    plan = build_ladder(Side.LONG, D(43000), quote("3"), SPEC_LEVELS, BTC)

    assert not plan.ok
    assert plan.error == "pyramid size 3 USDT is below the market minimum 5 USDT"
    assert plan.active_legs == ()
    assert plan.total_qty == 0
    assert len(plan.adjustments) == 4


def test_refusal_explains_when_rounding_pushes_size_below_minimum() -> None:
    # 5.01 USDT meets the minimum, but 5.01 / 43000 floors to 0.00011 BTC = 4.73 USDT.
    plan = build_ladder(Side.LONG, D(43000), quote("5.01"), levels(("0", 100)), BTC)

    assert plan.error == (
        "pyramid size 5.01 USDT is below the market minimum 5 USDT "
        "once rounded (0.00011 BTC at 43000 = 4.73 USDT)"
    )


def test_invalid_levels_refuse_the_ladder() -> None:
    plan = build_ladder(Side.LONG, D(43000), quote("500"), levels(("0", 50), ("-1", 40)), BTC)
    assert plan.error is not None and "sum to exactly 100" in plan.error
    assert plan.active_legs == ()


def test_leg_above_max_qty_refuses_the_pyramid() -> None:
    rules = MarketRules("BTC/USDT", tick_size=D("0.01"), step_size=D("0.00001"), max_qty=D("0.002"))
    plan = build_ladder(Side.LONG, D(43000), quote("500"), SPEC_LEVELS, rules)
    assert plan.error is not None and "above the maximum 0.002" in plan.error


def test_base_sizing_splits_quantity_by_weight() -> None:
    plan = build_ladder(Side.LONG, D(43000), PyramidSize(D("0.01"), "base"), SPEC_LEVELS, BTC)
    assert [leg.qty for leg in plan.legs] == [D("0.002")] * 5


def test_dca0_guard_price_is_slippage_above_base_for_long_below_for_short() -> None:
    assert dca0_guard_price(Side.LONG, D(43000), D("0.5"), BTC) == D(43215)
    assert dca0_guard_price(Side.SHORT, D(43000), D("0.5"), BTC) == D(42785)


def test_dca0_guard_price_rounds_for_the_entry_side() -> None:
    # 123.45 x 1.003 = 123.82035 -> buy rounds down; 123.45 x 0.997 = 123.07965 -> sell rounds up.
    assert dca0_guard_price(Side.LONG, D("123.45"), D("0.3"), BTC) == D("123.82")
    assert dca0_guard_price(Side.SHORT, D("123.45"), D("0.3"), BTC) == D("123.08")


def test_dca0_guard_price_rejects_negative_slippage() -> None:
    with pytest.raises(ValueError, match="max slippage"):
        dca0_guard_price(Side.LONG, D(43000), D(-1), BTC)


def test_spec_example_levels_are_valid() -> None:
    assert validate_levels(SPEC_LEVELS, max_levels=35) == []


@pytest.mark.parametrize(
    ("rows", "max_levels", "message"),
    [
        ([], 35, "at least one DCA level"),
        ([("0", 50), ("-1", 50)], 1, "at most 1 allowed"),
        ([("0", 50), ("-1", 49)], 35, "sum to exactly 100"),
        ([("0", 100), ("-1", 0)], 35, "DCA1: weight must be above 0"),
        ([("-0.5", 100)], 35, "DCA0: gap must be 0"),
        ([("0", 50), ("0.5", 50)], 35, "DCA1: gap must be 0 or negative"),
        ([("0", 30), ("-1", 30), ("-0.5", 40)], 35, "DCA2: gap -0.5 must be at or below DCA1's gap -1"),
        ([("0", 50), ("-100", 50)], 35, "DCA1: gap must be above -100"),
    ],
)
def test_validate_levels_reports_each_broken_rule(
    rows: list[tuple[str, int]], max_levels: int, message: str
) -> None:
    errors = validate_levels(levels(*rows), max_levels)
    assert any(message in error for error in errors), errors


def test_validate_levels_requires_positive_take_profit() -> None:
    errors = validate_levels([DcaLevel(D(0), D(100), D(0))], max_levels=35)
    assert errors == ["DCA0: take-profit must be above 0, got 0"]


def test_validate_levels_allows_equal_consecutive_gaps() -> None:
    assert validate_levels(levels(("0", 50), ("0", 50)), max_levels=35) == []
