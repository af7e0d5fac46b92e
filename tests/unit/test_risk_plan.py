"""Loser selection, winner sizing and the risk plan (issue 4, "Selection" and "Execution (in USD)")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from risk.core import (
    GroupSnapshot,
    LegPosition,
    PlannedClose,
    RiskSettings,
    available_offsets,
    plan_risk_action,
)
from trading.core.types import MarketRules, Side

NOW = datetime(2025, 1, 6, 17, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=5)
SETTINGS = RiskSettings()
RULES = MarketRules("X/USDT", tick_size=D("0.01"), step_size=D("0.1"), min_qty=D("0.1"), min_notional=D(5))


def grp(
    group_id: int,
    price: str | int,
    *legs: tuple,
    side: Side = Side.LONG,
    opened_at: datetime = OPENED,
    blocked: bool = False,
    skip_once: bool = False,
    rules: MarketRules | None = RULES,
) -> GroupSnapshot:
    """A full group whose timer has run; legs are (qty, fill[, entry fees]), ids group_id*10 + n."""
    return GroupSnapshot(
        group_id=group_id,
        symbol=f"S{group_id}/USDT",
        side=side,
        opened_at=opened_at,
        pyramids_received=5,
        timer_started_at=NOW - timedelta(hours=2),
        blocked=blocked,
        skip_once=skip_once,
        price=D(price),
        legs=tuple(
            LegPosition(group_id * 10 + n, D(leg[0]), D(leg[1]), D(leg[2]) if len(leg) > 2 else D(0))
            for n, leg in enumerate(legs, start=1)
        ),
        rules=rules,
    )


# The worked example. Loser: 3 @ 120 at 80 = -120 USD (-33.3 %).
LOSER = grp(1, 80, (3, 120))
W80 = grp(2, 110, (8, 100))  # +80
W50 = grp(3, 110, (2, 100), (3, 100))  # +20 +30 = +50, two legs
W10 = grp(4, 110, (1, 100))  # +10
BIG = grp(9, 200, (10, 100))  # +1000: covers any loser in the selection tests


def plan(*groups: GroupSnapshot, settings: RiskSettings = SETTINGS, force: bool = False):
    return plan_risk_action(groups, settings, NOW, force)


def test_worked_example_loser_in_full_80_in_full_80_percent_of_50_and_10_untouched() -> None:
    result = plan(W10, W50, LOSER, W80)
    assert result.action == "close"
    assert result.loser == PlannedClose(1, D(1), True, ((11, D(3)),), D(-120))
    assert result.winners == (
        PlannedClose(2, D(1), True, ((21, D(8)),), D(80)),
        PlannedClose(3, D("0.8"), False, ((31, D("1.6")), (32, D("2.4"))), D(40)),
    )
    assert (result.required_usd, result.covered_usd, result.net_usd) == (D(120), D(120), D(0))
    assert result.reason == "loser #1 (-33.33 %, -120 USD) closed in full against #2 in full, #3 80 %"
    assert [e.group_id for e in result.evaluations] == [4, 3, 1, 2]
    assert [e.eligible for e in result.evaluations] == [False, False, True, False]


def test_worked_example_mirrored_for_shorts() -> None:
    # Short 3 @ 80 at 120 = -120; short winners gain as the price falls from 110 to 100.
    result = plan(
        grp(1, 120, (3, 80), side=Side.SHORT),
        grp(2, 100, (8, 110), side=Side.SHORT),
        grp(3, 100, (2, 110), (3, 110), side=Side.SHORT),
        grp(4, 100, (1, 110), side=Side.SHORT),
    )
    assert result.action == "close"
    assert result.loser == PlannedClose(1, D(1), True, ((11, D(3)),), D(-120))
    assert result.winners == (
        PlannedClose(2, D(1), True, ((21, D(8)),), D(80)),
        PlannedClose(3, D("0.8"), False, ((31, D("1.6")), (32, D("2.4"))), D(40)),
    )
    assert result.net_usd == D(0)


def test_partial_close_off_closes_winners_whole_and_may_overshoot() -> None:
    result = plan(LOSER, W80, W50, W10, settings=replace(SETTINGS, partial_close_enabled=False))
    assert result.action == "close"
    assert [(w.group_id, w.full_close, w.usd) for w in result.winners] == [(2, True, D(80)), (3, True, D(50))]
    assert (result.covered_usd, result.net_usd) == (D(130), D(10))


def test_partial_coverage_closes_the_same_fraction_of_the_loser() -> None:
    # Loser 5 @ 120 at 80 = -200; every winner in full covers 80 + 50 + 10 = 140 = 70 %.
    loser = grp(1, 80, (5, 120))
    result = plan(loser, W80, W50, W10)
    assert result.action == "partial"
    assert result.loser == PlannedClose(1, D("0.7"), False, ((11, D("3.5")),), D(-140))
    assert [(w.group_id, w.fraction, w.full_close) for w in result.winners] == [
        (2, D(1), True),
        (3, D(1), True),
        (4, D(1), True),
    ]
    assert (result.required_usd, result.covered_usd, result.net_usd) == (D(200), D(140), D(0))
    assert "winners cover 140 of 200 USD; closing 70 % of it" in result.reason


def test_partial_coverage_with_partial_close_off_does_nothing_and_says_why() -> None:
    result = plan(
        grp(1, 80, (5, 120)), W80, W50, W10, settings=replace(SETTINGS, partial_close_enabled=False)
    )
    assert result.action == "none"
    assert (result.loser, result.winners) == (None, ())
    assert (result.required_usd, result.covered_usd, result.net_usd) == (D(200), D(0), D(0))
    assert result.reason == (
        "loser #1 (-33.33 %, -200 USD): winners cover only 140 of 200 USD and partial_close_enabled is off"
    )


def test_at_most_max_winners_to_combine_then_the_loser_is_floored_to_the_step() -> None:
    # Four +30 winners (3 @ 100 at 110); the oldest three are used: 90 of 120 = 75 %.
    # The loser's 3 x 0.75 = 2.25 floors to 2.2 on the 0.1 step: -88 USD, net +2.
    winners = [grp(i, 110, (3, 100), opened_at=OPENED - timedelta(minutes=i)) for i in (2, 3, 4, 5)]
    result = plan(LOSER, *winners)
    assert result.action == "partial"
    assert [w.group_id for w in result.winners] == [5, 4, 3]
    assert result.loser == PlannedClose(1, D("0.75"), False, ((11, D("2.2")),), D(-88))
    assert (result.covered_usd, result.net_usd) == (D(90), D(2))


def test_a_winner_below_min_close_notional_is_skipped_and_the_next_one_used() -> None:
    # Loser 3 @ 110 at 80 = -90. +80 in full leaves 10; the +50 winner (1 @ 40 at 90) would close
    # 0.2 = 18 USD of notional < 20, so it is skipped; the +10 winner closes in full. Skipped winners
    # do not count toward max_winners_to_combine.
    loser = grp(1, 80, (3, 110))
    small = grp(3, 90, (1, 40))
    ten = grp(4, 100, (1, 90))
    result = plan(loser, W80, small, ten, settings=replace(SETTINGS, max_winners_to_combine=2))
    assert result.action == "close"
    assert [(w.group_id, w.fraction, w.usd) for w in result.winners] == [(2, D(1), D(80)), (4, D(1), D(10))]
    assert result.loser == PlannedClose(1, D(1), True, ((11, D(3)),), D(-90))
    assert result.reason.endswith("; winner #3 skipped: close notional 18 USD is below min_close_notional 20")


def test_a_winner_below_the_exchange_minimum_is_skipped() -> None:
    loser = grp(1, 80, (3, 110))
    ten = grp(4, 100, (1, 90))
    settings = replace(SETTINGS, min_close_notional=D(0))
    by_notional = grp(3, 90, (1, 40), rules=replace(RULES, min_notional=D(25)))
    result = plan(loser, W80, by_notional, ten, settings=settings)
    assert [w.group_id for w in result.winners] == [2, 4]
    assert "winner #3 skipped: close notional 18 is below the exchange minimum 25" in result.reason
    by_qty = grp(3, 90, (1, 40), rules=replace(RULES, min_qty=D("0.5")))
    result = plan(loser, W80, by_qty, ten, settings=settings)
    assert [w.group_id for w in result.winners] == [2, 4]
    assert "winner #3 skipped: close quantity 0.2 is below the exchange minimum 0.5" in result.reason


def test_a_loser_whose_close_is_below_the_minimum_is_not_closed() -> None:
    # 0.2 @ 120 at 80: -8 USD on 16 USD of notional, below min_close_notional.
    result = plan(grp(1, 80, ("0.2", 120)), W80)
    assert result.action == "none"
    assert result.reason == (
        "loser #1 (-33.33 %, -8 USD): its close is not sent: "
        "close notional 16 USD is below min_close_notional 20"
    )


def test_a_winner_whose_rounded_close_would_realise_a_loss_is_skipped() -> None:
    # Loser 0.1 @ 100 at 80 = -2. Winner: 0.1 @ 10 (+9) and 10 @ 100.5 (-5) at 100 = +4; half of it
    # floors to 0 and 5 on the 0.1 step, which would realise 5 x -0.5 = -2.5 USD.
    loser = grp(1, 80, ("0.1", 100))
    winner = grp(2, 100, ("0.1", 10), (10, "100.5"))
    result = plan(loser, winner, settings=replace(SETTINGS, min_close_notional=D(0)))
    assert result.action == "none"
    assert result.reason == (
        "loser #1 (-20 %, -2 USD): no winner could be closed; "
        "winner #2 skipped: its close would realise -2.5 USD after rounding to the step"
    )


def test_winner_fraction_is_applied_to_every_leg_and_floored_to_the_step() -> None:
    # Loser -37; winner legs 1 @ 100, 2 @ 100, 7 @ 100 at 110 = +100; fraction 0.37:
    # 0.37, 0.74, 2.59 floor to 0.3, 0.7, 2.5 on the 0.1 step -> 3.5 x 10 = 35 USD realised.
    loser = grp(1, 63, (1, 100))
    winner = grp(2, 110, (1, 100), (2, 100), (7, 100))
    result = plan(loser, winner)
    assert result.action == "close"
    (close,) = result.winners
    assert close == PlannedClose(2, D("0.37"), False, ((21, D("0.3")), (22, D("0.7")), (23, D("2.5"))), D(35))
    assert (result.required_usd, result.covered_usd, result.net_usd) == (D(37), D(35), D(-2))


def test_fees_count_in_required_usd_and_in_each_close() -> None:
    # Loser 3 @ 120 at 80 with 0.36 fees: -120.36. Winner 10 @ 100 at 120 with 1 in fees: +199.
    # Fraction 120.36 / 199; 10 x that = 6.048... floors to 6.0: 6 x 20 - 0.6 = 119.4 USD.
    loser = grp(1, 80, (3, 120, "0.36"))
    winner = grp(2, 120, (10, 100, 1))
    result = plan(loser, winner)
    assert result.required_usd == D("120.36")
    assert result.loser.usd == D("-120.36")
    (close,) = result.winners
    assert close.fraction == D("120.36") / D(199)
    assert close.leg_qtys == ((21, D(6)),)
    assert close.usd == D("119.4")
    assert result.net_usd == D("-0.96")


def test_loser_is_the_lowest_loss_percent_not_the_largest_usd_loss() -> None:
    by_percent = grp(1, 900, (1, 1000))  # -100 USD, -10 %
    by_usd = grp(2, 920, (5, 1000))  # -400 USD, -8 %
    assert plan(by_usd, by_percent, BIG).loser.group_id == 1


def test_loss_percent_tie_goes_to_the_larger_usd_loss() -> None:
    small = grp(1, 900, (1, 1000))  # -100 USD, -10 %
    large = grp(2, 900, (2, 1000))  # -200 USD, -10 %
    assert plan(small, large, BIG).loser.group_id == 2


def test_full_tie_goes_to_the_oldest_group() -> None:
    newer = grp(1, 900, (1, 1000))
    older = grp(2, 900, (1, 1000), opened_at=OPENED - timedelta(minutes=1))
    assert plan(newer, older, BIG).loser.group_id == 2


def test_winners_rank_by_usd_profit_not_by_percent() -> None:
    # +5 % on 1000 (= +50) outranks +50 % on 40 (= +20): loser -50 takes only the first.
    loser = grp(1, 90, (5, 100))
    fat = grp(2, 105, (10, 100))
    lean = grp(3, 15, (4, 10))
    result = plan(loser, lean, fat)
    assert [(w.group_id, w.full_close) for w in result.winners] == [(2, True)]


def test_blocked_and_skip_once_groups_are_neither_losers_nor_winners() -> None:
    result = plan(replace(LOSER, blocked=True), W80)
    assert (result.action, result.reason) == ("none", "no eligible loser")
    result = plan(LOSER, replace(BIG, blocked=True), replace(W50, skip_once=True), W80)
    assert result.action == "partial"
    assert [w.group_id for w in result.winners] == [2]


def test_force_lets_a_loser_with_a_running_timer_through() -> None:
    waiting = replace(LOSER, timer_started_at=NOW - timedelta(minutes=5))
    assert plan(waiting, W80, W50).action == "none"
    forced = plan(waiting, W80, W50, force=True)
    assert forced.action == "close"
    assert forced.loser.group_id == 1
    assert plan(replace(waiting, skip_once=True), W80, W50, force=True).action == "none"


def test_nothing_to_do_says_why() -> None:
    assert plan(W80, W50).reason == "no eligible loser"
    assert plan(LOSER).reason == "loser #1 (-33.33 %, -120 USD): no winning groups to offset it"
    assert plan(LOSER, W80, settings=replace(SETTINGS, enabled=False)).reason == "risk engine is disabled"
    assert plan(LOSER, W80, settings=replace(SETTINGS, enabled=False)).required_usd == D(0)
    unpriced = plan(LOSER, replace(W80, price=None))
    assert unpriced.reason == "loser #1 (-33.33 %, -120 USD): no winning groups to offset it"
    assert unpriced.required_usd == D(120)


def test_available_offsets_counts_open_winners_only() -> None:
    groups = [LOSER, W80, W50, W10, replace(BIG, blocked=True), replace(BIG, group_id=10, price=None)]
    assert available_offsets(groups) == (3, D(140))
    assert available_offsets(groups, exclude={2}) == (2, D(60))
