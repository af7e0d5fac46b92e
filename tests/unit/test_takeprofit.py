from __future__ import annotations

import time
from decimal import Decimal as D

import pytest

from trading.core.takeprofit import (
    OpenLeg,
    TpDecision,
    aggregate_tp_price,
    evaluate_take_profit,
    leg_tp_price,
    tp_progress_percent,
    weighted_average_entry,
)
from trading.core.types import Side, TpMode

# Long: leg 1 TP 100 x 1.01 = 101; leg 2 TP 98 x 1.02 = 99.96; average 99, aggregate 1% -> 99.99.
LONG_LEGS = (
    OpenLeg(leg_id=1, open_qty=D(1), avg_fill_price=D(100), tp_percent=D(1)),
    OpenLeg(leg_id=2, open_qty=D(1), avg_fill_price=D(98), tp_percent=D(2)),
)
# Short: leg 1 TP 100 x 0.99 = 99; leg 2 TP 102 x 0.98 = 99.96; average 101, aggregate 1% -> 99.99.
SHORT_LEGS = (
    OpenLeg(leg_id=1, open_qty=D(1), avg_fill_price=D(100), tp_percent=D(1)),
    OpenLeg(leg_id=2, open_qty=D(1), avg_fill_price=D(102), tp_percent=D(2)),
)


def test_leg_tp_sits_above_fill_for_long_and_below_for_short() -> None:
    assert leg_tp_price(Side.LONG, D(100), D("1.5")) == D("101.5")
    assert leg_tp_price(Side.SHORT, D(100), D("1.5")) == D("98.5")


def test_weighted_average_entry_weights_by_open_quantity() -> None:
    legs = [
        OpenLeg(1, D(1), D(100), D(1)),
        OpenLeg(2, D(3), D(96), D(1)),
        OpenLeg(3, D(0), D(50), D(1)),  # closed: must not drag the average
    ]
    assert weighted_average_entry(legs) == D(97)


def test_weighted_average_entry_is_none_when_nothing_is_open() -> None:
    assert weighted_average_entry([OpenLeg(1, D(0), D(100), D(1))]) is None
    assert aggregate_tp_price(Side.LONG, [], D(1)) is None


def test_aggregate_tp_uses_weighted_average_entry() -> None:
    assert aggregate_tp_price(Side.LONG, LONG_LEGS, D(1)) == D("99.99")
    assert aggregate_tp_price(Side.SHORT, SHORT_LEGS, D(1)) == D("99.99")


def test_leg_mode_closes_only_legs_whose_own_tp_is_reached() -> None:
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D(100), TpMode.LEG)
    assert (decision.close_group, decision.legs) == (False, (2,))


def test_leg_mode_closes_nothing_below_every_tp() -> None:
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D("99.95"), TpMode.LEG)
    assert decision == TpDecision(False, (), "no leg TP reached")


def test_short_leg_tp_triggers_when_price_falls_to_it() -> None:
    assert evaluate_take_profit(Side.SHORT, SHORT_LEGS, D("99.97"), TpMode.LEG).legs == ()
    assert evaluate_take_profit(Side.SHORT, SHORT_LEGS, D("99.5"), TpMode.LEG).legs == (2,)
    assert evaluate_take_profit(Side.SHORT, SHORT_LEGS, D(99), TpMode.LEG).legs == (1, 2)


def test_aggregate_mode_closes_whole_group_at_average_entry_tp() -> None:
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D("99.99"), TpMode.AGGREGATE, D(1))
    assert (decision.close_group, decision.legs) == (True, (1, 2))


def test_aggregate_mode_ignores_leg_tps() -> None:
    # 99.97 passes leg 2's own TP (99.96) but not the aggregate (99.99).
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D("99.97"), TpMode.AGGREGATE, D(1))
    assert (decision.close_group, decision.legs) == (False, ())


def test_short_aggregate_triggers_when_price_falls_to_it() -> None:
    assert not evaluate_take_profit(Side.SHORT, SHORT_LEGS, D("100"), TpMode.AGGREGATE, D(1)).close_group
    assert evaluate_take_profit(Side.SHORT, SHORT_LEGS, D("99.99"), TpMode.AGGREGATE, D(1)).close_group


def test_hybrid_aggregate_trigger_closes_whole_group_first() -> None:
    # At 99.99 both leg 2's TP and the aggregate are reached: the aggregate wins.
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D("99.99"), TpMode.HYBRID, D(1))
    assert (decision.close_group, decision.legs) == (True, (1, 2))


def test_hybrid_falls_back_to_leg_tps_when_aggregate_not_reached() -> None:
    decision = evaluate_take_profit(Side.LONG, LONG_LEGS, D("99.97"), TpMode.HYBRID, D(1))
    assert (decision.close_group, decision.legs) == (False, (2,))


def test_aggregate_is_recomputed_over_remaining_legs_after_a_leg_tp() -> None:
    remaining = [LONG_LEGS[0]]  # leg 2 closed at its own TP
    assert not evaluate_take_profit(Side.LONG, remaining, D("99.99"), TpMode.HYBRID, D(1)).close_group
    assert evaluate_take_profit(Side.LONG, remaining, D(101), TpMode.HYBRID, D(1)).close_group


def test_legs_with_no_open_quantity_are_ignored() -> None:
    legs = (*LONG_LEGS, OpenLeg(leg_id=3, open_qty=D(0), avg_fill_price=D(50), tp_percent=D(1)))
    assert evaluate_take_profit(Side.LONG, legs, D(100), TpMode.LEG).legs == (2,)
    assert evaluate_take_profit(Side.LONG, legs, D("99.99"), TpMode.AGGREGATE, D(1)).legs == (1, 2)


def test_no_open_legs_closes_nothing() -> None:
    decision = evaluate_take_profit(Side.LONG, [], D(100), TpMode.HYBRID, D(1))
    assert (decision.close_group, decision.legs) == (False, ())


def test_aggregate_modes_require_an_aggregate_percent() -> None:
    with pytest.raises(ValueError, match="aggregate take-profit percent"):
        evaluate_take_profit(Side.LONG, LONG_LEGS, D(100), TpMode.AGGREGATE)


@pytest.mark.parametrize(
    ("side", "fill", "tp", "price", "expected"),
    [
        (Side.LONG, D(100), D(110), D(105), D(50)),
        (Side.LONG, D(100), D(110), D(90), D(0)),
        (Side.LONG, D(100), D(110), D(120), D(100)),
        (Side.SHORT, D(100), D(90), D(95), D(50)),
        (Side.SHORT, D(100), D(90), D(101), D(0)),
        (Side.SHORT, D(100), D(90), D(80), D(100)),
    ],
)
def test_tp_progress_is_share_of_distance_from_fill_to_tp_clamped(
    side: Side, fill: D, tp: D, price: D, expected: D
) -> None:
    assert tp_progress_percent(side, fill, tp, price) == expected


def test_evaluating_a_thousand_groups_of_35_legs_is_cheap() -> None:
    groups = [
        [OpenLeg(i, D("0.001"), D(43000) - i * 10 - g, D("1.5")) for i in range(35)] for g in range(1000)
    ]
    started = time.perf_counter()
    for legs in groups:
        evaluate_take_profit(Side.LONG, legs, D(43100), TpMode.HYBRID, D(1))
    # Generous bound: this runs on every price update, so it must stay far from a second.
    assert time.perf_counter() - started < 2.0
