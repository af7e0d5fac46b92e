"""One risk cycle as a pure function: pick the worst eligible loser, size the winners that offset it.

Issue 4, execution in USD:
- required_usd = |unrealised PnL| of the loser (lowest loss %; tie → larger USD loss; tie → oldest).
- Winners: every other live group with unrealised PnL > 0, highest USD profit first; at most
  `max_winners_to_combine` of them, in that order, until their profit covers required_usd.
- Each winner closes only the portion needed, fraction = min(1, still-needed ÷ its profit), applied to
  each open leg and floored to the step (`partial_close_enabled`; off → whole winners). A close below
  `min_close_notional` or the exchange minimum is not sent and that winner is skipped.
- Covered: the loser closes in full. Covered in part: with partial closes on, the same fraction of the
  loser closes; otherwise nothing happens, and the plan says why.

`plan_risk_action` is both the console's projected plan and what the engine executes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from trading.core.numbers import fmt
from trading.core.precision import floor_qty

from .eligibility import GroupEvaluation, evaluate_group
from .pnl import GroupPnl, close_usd, snapshot_pnl
from .snapshot import GroupSnapshot, RiskSettings

Action = Literal["close", "partial", "none"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PlannedClose:
    """Market-close `leg_qtys` of one group: one order for the group, allocated to its legs."""

    group_id: int
    fraction: Decimal  # of the group's open quantity, before flooring to the step
    full_close: bool  # the whole group closes and releases its pool slot; a partial never does
    leg_qtys: tuple[tuple[int, Decimal], ...]  # (leg id, quantity) on the step grid
    usd: Decimal  # the PnL this close realises at the current price, after its share of entry fees

    @property
    def qty(self) -> Decimal:
        return sum((qty for _, qty in self.leg_qtys), _ZERO)


@dataclass(frozen=True)
class RiskPlan:
    loser: PlannedClose | None  # None when action is "none"
    winners: tuple[PlannedClose, ...]
    required_usd: Decimal  # |unrealised PnL| of the selected loser; 0 when there is none
    covered_usd: Decimal  # Σ winners' usd
    net_usd: Decimal  # covered_usd + loser.usd (≈ 0 when fully covered; rounding keeps it near)
    action: Action
    reason: str
    evaluations: tuple[GroupEvaluation, ...]  # one per group, in input order


def plan_risk_action(
    groups: Sequence[GroupSnapshot], settings: RiskSettings, now: datetime, force: bool = False
) -> RiskPlan:
    """Evaluate every group, select the loser and size the winners' closes for this cycle."""
    evaluations: list[GroupEvaluation] = []
    offsets: list[tuple[GroupSnapshot, Decimal]] = []
    loser: tuple[GroupSnapshot, GroupPnl] | None = None
    loser_key: tuple | None = None
    for group in groups:
        pnl = snapshot_pnl(group)
        evaluation = evaluate_group(group, pnl, settings, now, force)
        evaluations.append(evaluation)
        if pnl is None:
            continue
        if evaluation.eligible:
            # Lowest loss %; tie → larger USD loss (more negative PnL); tie → oldest; then id, for a
            # deterministic plan.
            key = (pnl.loss_percent, pnl.unrealised_usd, group.opened_at, group.group_id)
            if loser_key is None or key < loser_key:
                loser, loser_key = (group, pnl), key
        if pnl.unrealised_usd > 0 and _can_offset(group):
            offsets.append((group, pnl.unrealised_usd))

    def nothing(reason: str, required: Decimal = _ZERO) -> RiskPlan:
        return RiskPlan(None, (), required, _ZERO, _ZERO, "none", reason, tuple(evaluations))

    if not settings.enabled:
        return nothing("risk engine is disabled")
    if loser is None:
        return nothing("no eligible loser")
    group, pnl = loser
    if pnl.unrealised_usd >= 0:
        return nothing(f"loser #{group.group_id} has no loss to offset")
    required = -pnl.unrealised_usd
    label = f"loser #{group.group_id} ({fmt(pnl.loss_percent, 2)} %, -{fmt(required, 2)} USD)"

    ranked = sorted(
        (item for item in offsets if item[0].group_id != group.group_id),
        key=lambda item: (-item[1], item[0].opened_at, item[0].group_id),
    )
    winners, covered, notes = _choose_winners(ranked, required, settings)
    skipped = "".join(f"; {note}" for note in notes)

    if not winners:
        why = "no winning groups to offset it" if not ranked else "no winner could be closed"
        return nothing(f"{label}: {why}{skipped}", required)
    if covered >= required:
        action: Action = "close"
        loser_close = size_close(group, _ONE)
        summary = f"{label} closed in full against {_describe(winners)}"
    elif settings.partial_close_enabled:
        action = "partial"
        fraction = covered / required
        loser_close = size_close(group, fraction)
        summary = (
            f"{label}: winners cover {fmt(covered, 2)} of {fmt(required, 2)} USD; closing "
            f"{fmt(fraction * _HUNDRED, 2)} % of it against {_describe(winners)}"
        )
    else:
        return nothing(
            f"{label}: winners cover only {fmt(covered, 2)} of {fmt(required, 2)} USD and "
            f"partial_close_enabled is off{skipped}",
            required,
        )
    too_small = close_too_small(loser_close, group, settings.min_close_notional)
    if too_small is not None:
        return nothing(f"{label}: its close is not sent: {too_small}{skipped}", required)

    covered_usd = sum((close.usd for close in winners), _ZERO)
    return RiskPlan(
        loser=loser_close,
        winners=tuple(winners),
        required_usd=required,
        covered_usd=covered_usd,
        net_usd=covered_usd + loser_close.usd,
        action=action,
        reason=summary + skipped,
        evaluations=tuple(evaluations),
    )


def _choose_winners(
    ranked: list[tuple[GroupSnapshot, Decimal]], required: Decimal, settings: RiskSettings
) -> tuple[list[PlannedClose], Decimal, list[str]]:
    """Walk the ranked winners until `required` is covered or enough are chosen.

    Coverage counts each winner's intended share (fraction × profit); flooring its legs to the step
    moves the USD it realises by at most a step's worth per leg, which never changes the action.
    """
    chosen: list[PlannedClose] = []
    notes: list[str] = []
    need = required
    for group, profit in ranked:
        if need <= 0 or len(chosen) >= settings.max_winners_to_combine:
            break
        fraction = _ONE if profit <= need or not settings.partial_close_enabled else need / profit
        close = size_close(group, fraction)
        too_small = close_too_small(close, group, settings.min_close_notional)
        if too_small is None and close.usd <= 0:
            # Flooring can zero a small profitable leg while a losing one keeps its share.
            too_small = f"its close would realise {fmt(close.usd, 2)} USD after rounding to the step"
        if too_small is not None:
            notes.append(f"winner #{group.group_id} skipped: {too_small}")
            continue
        chosen.append(close)
        need -= profit if fraction == _ONE else need
    return chosen, required - max(need, _ZERO), notes


def size_close(group: GroupSnapshot, fraction: Decimal) -> PlannedClose:
    """Close `fraction` of every open leg, each floored to the market's step, so the group keeps its
    DCA and pyramid shape. `group.price` must be known."""
    assert group.price is not None
    rules = group.rules
    leg_qtys: list[tuple[int, Decimal]] = []
    for leg in group.legs:
        if leg.open_qty <= 0:
            continue
        qty = leg.open_qty if fraction == _ONE else leg.open_qty * fraction
        if rules is not None:
            qty = floor_qty(qty, rules)
        if qty > 0:
            leg_qtys.append((leg.leg_id, qty))
    usd = close_usd(group.side, group.legs, leg_qtys, group.price)
    return PlannedClose(group.group_id, fraction, fraction == _ONE, tuple(leg_qtys), usd)


def close_too_small(close: PlannedClose, group: GroupSnapshot, min_close_notional: Decimal) -> str | None:
    """Why the close's one order would not be sent (below our or the exchange's minimum), or None."""
    assert group.price is not None
    qty = close.qty
    if qty <= 0:
        return "nothing left to close after rounding to the step"
    notional = qty * group.price
    if notional < min_close_notional:
        return f"close notional {fmt(notional, 2)} USD is below min_close_notional {fmt(min_close_notional)}"
    rules = group.rules
    if rules is not None:
        if qty < rules.min_qty:
            return f"close quantity {fmt(qty)} is below the exchange minimum {fmt(rules.min_qty)}"
        if notional < rules.min_notional:
            return (
                f"close notional {fmt(notional, 2)} is below the exchange minimum {fmt(rules.min_notional)}"
            )
    return None


def available_offsets(groups: Sequence[GroupSnapshot], exclude: Collection[int] = ()) -> tuple[int, Decimal]:
    """Winning groups that could offset a loser (not blocked, not skipped): (count, total profit USD)."""
    count = 0
    total = _ZERO
    for group in groups:
        if group.group_id in exclude or not _can_offset(group):
            continue
        pnl = snapshot_pnl(group)
        if pnl is not None and pnl.unrealised_usd > 0:
            count += 1
            total += pnl.unrealised_usd
    return count, total


def _can_offset(group: GroupSnapshot) -> bool:
    # Blocked exempts a group from the risk engine completely; skip-once leaves it alone this cycle.
    return not group.blocked and not group.skip_once


def _describe(winners: list[PlannedClose]) -> str:
    return ", ".join(
        f"#{close.group_id} " + ("in full" if close.full_close else f"{fmt(close.fraction * _HUNDRED, 2)} %")
        for close in winners
    )
