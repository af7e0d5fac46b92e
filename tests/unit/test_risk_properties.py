"""Invariants of the risk plan for any book of groups (issue 4, property tests).

- the USD the winners' closes realise never exceeds required_usd by more than one step's worth per
  winner leg (flooring to the step is the only source of excess);
- no more than max_winners_to_combine winners;
- the loser is never also a winner.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from risk.core import GroupSnapshot, LegPosition, RiskPlan, RiskSettings, plan_risk_action, snapshot_pnl
from trading.core.types import MarketRules, Side

NOW = datetime(2025, 1, 6, 17, 0, tzinfo=UTC)


@st.composite
def books(draw: st.DrawFn, fill_percent: tuple[int, int] = (50, 150)) -> list[GroupSnapshot]:
    """1-10 full groups whose timers have run. Each market has a step worth 0.0001-10 USD; fills lie
    within `fill_percent` of the price, fees are 0-0.1 % of each leg's notional."""
    groups = []
    leg_id = 0
    for group_id in range(1, draw(st.integers(1, 10)) + 1):
        price = D(draw(st.integers(1, 10**7))) / 100  # 0.01 .. 100,000
        step = D(1).scaleb(draw(st.integers(-4, 0)) - price.adjusted())
        legs = []
        for _ in range(draw(st.integers(1, 5))):
            fill = price * D(draw(st.integers(*fill_percent))) / 100
            qty = step * draw(st.integers(1, 5000))
            fees = fill * qty * draw(st.integers(0, 10)) / 10000
            legs.append(LegPosition(leg_id, qty, fill, fees))
            leg_id += 1
        groups.append(
            GroupSnapshot(
                group_id=group_id,
                symbol=f"S{group_id}/USDT",
                side=draw(st.sampled_from(list(Side))),
                opened_at=NOW - timedelta(minutes=draw(st.integers(0, 5)) + 300),
                pyramids_received=5,
                timer_started_at=NOW - timedelta(hours=2),
                blocked=draw(st.integers(0, 9)) == 0,
                skip_once=draw(st.integers(0, 9)) == 0,
                price=price,
                legs=tuple(legs),
                rules=MarketRules(
                    f"S{group_id}/USDT",
                    tick_size=D("0.00000001"),
                    step_size=step,
                    min_qty=step * draw(st.integers(0, 3)),
                    min_notional=D(draw(st.sampled_from([0, 5, 10]))),
                ),
            )
        )
    return groups


risk_settings = st.builds(
    RiskSettings,
    max_winners_to_combine=st.integers(1, 5),
    partial_close_enabled=st.booleans(),
    min_close_notional=st.sampled_from([D(0), D(20)]),
)


def _winner_groups(plan: RiskPlan, groups: list[GroupSnapshot]) -> list[GroupSnapshot]:
    by_id = {group.group_id: group for group in groups}
    return [by_id[close.group_id] for close in plan.winners]


@settings(deadline=None, max_examples=300)
@given(books(), risk_settings)
def test_winners_overshoot_required_usd_by_at_most_a_step_per_winner_leg(groups, risk) -> None:
    plan = plan_risk_action(groups, risk, NOW)
    if not risk.partial_close_enabled:
        return  # whole winners may overshoot by design
    allowance = sum(
        (group.rules.step_size * group.price for group in _winner_groups(plan, groups) for _ in group.legs),
        D(0),
    )
    assert plan.covered_usd - plan.required_usd <= allowance


@settings(deadline=None, max_examples=300)
@given(books(fill_percent=(1, 1000)), risk_settings)
def test_overshoot_is_bounded_by_what_a_step_of_each_leg_is_worth(groups, risk) -> None:
    # Any fills at all: a step's worth of a leg is its PnL per unit (after fees) times the step.
    plan = plan_risk_action(groups, risk, NOW)
    if not risk.partial_close_enabled:
        return
    allowance = D(0)
    for group in _winner_groups(plan, groups):
        direction = 1 if group.side == Side.LONG else -1
        for leg in group.legs:
            per_unit = direction * (group.price - leg.avg_fill_price) - leg.entry_fees / leg.open_qty
            allowance += group.rules.step_size * abs(per_unit)
    assert plan.covered_usd - plan.required_usd <= allowance


@settings(deadline=None, max_examples=300)
@given(books(), risk_settings)
def test_no_more_than_max_winners_and_the_loser_is_never_a_winner(groups, risk) -> None:
    plan = plan_risk_action(groups, risk, NOW)
    winner_ids = [close.group_id for close in plan.winners]
    assert len(winner_ids) <= risk.max_winners_to_combine
    assert len(set(winner_ids)) == len(winner_ids)
    if plan.loser is not None:
        assert plan.loser.group_id not in winner_ids
    assert (plan.action == "none") == (plan.loser is None)


@settings(deadline=None, max_examples=300)
@given(books(), risk_settings)
def test_every_close_stays_on_the_grid_within_the_open_quantity(groups, risk) -> None:
    plan = plan_risk_action(groups, risk, NOW)
    by_id = {group.group_id: group for group in groups}
    for close in [*plan.winners, *([plan.loser] if plan.loser else [])]:
        group = by_id[close.group_id]
        open_qty = {leg.leg_id: leg.open_qty for leg in group.legs}
        for leg_id, qty in close.leg_qtys:
            assert 0 < qty <= open_qty[leg_id]
            assert qty % group.rules.step_size == 0
        assert close.qty * group.price >= risk.min_close_notional


@settings(deadline=None, max_examples=300)
@given(books(), risk_settings)
def test_the_loser_is_the_lowest_loss_percent_then_usd_then_oldest(groups, risk) -> None:
    plan = plan_risk_action(groups, risk, NOW)
    if plan.loser is None:
        return
    eligible = [g for g, e in zip(groups, plan.evaluations, strict=True) if e.eligible]

    def rank(group: GroupSnapshot) -> tuple:
        pnl = snapshot_pnl(group)
        return pnl.loss_percent, pnl.unrealised_usd, group.opened_at, group.group_id

    assert plan.loser.group_id == min(eligible, key=rank).group_id
