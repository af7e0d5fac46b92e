"""Reduce rounds the total to the step first, then spreads it over the legs: Σ = what was asked."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from trading.core.allocation import allocate_reduce

STEPS = [D(s) for s in ("0.00001", "0.0001", "0.001", "0.01", "1")]


def test_reduce_allocates_the_step_rounded_total_before_splitting_it():
    # Floored leg by leg, 0.1 of 0.0500 + 0.0502 was 0.0499 + 0.0500 = 0.0999: one step short.
    allocation = allocate_reduce(D("0.1"), {1: D("0.05"), 2: D("0.0502")}, D("0.0001"))

    assert sum(allocation.values()) == D("0.1")
    assert allocation == {1: D("0.0499"), 2: D("0.0501")}


def test_reduce_is_capped_at_what_is_open():
    assert allocate_reduce(D("5"), {1: D("0.3"), 2: D("0.2")}, D("0.1")) == {1: D("0.3"), 2: D("0.2")}


def test_a_request_below_one_step_allocates_nothing():
    assert allocate_reduce(D("0.00004"), {1: D("0.1")}, D("0.0001")) == {}


def test_without_a_step_the_exact_quantity_is_split():
    allocation = allocate_reduce(D("1"), {1: D("1"), 2: D("2")}, None)
    assert sum(allocation.values()) == D("1")


@st.composite
def reduce_cases(draw: st.DrawFn) -> tuple[D, dict[int, D], D]:
    step = draw(st.sampled_from(STEPS))
    legs = draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=12))
    open_qty = {i + 1: step * units for i, units in enumerate(legs)}
    requested = draw(st.decimals(min_value=D(0), max_value=sum(open_qty.values()) * 2, places=8))
    return requested, open_qty, step


@given(reduce_cases())
def test_reduce_allocation_sums_to_the_requested_step_rounded_quantity(case) -> None:
    requested, open_qty, step = case
    total_open = sum(open_qty.values())
    allocation = allocate_reduce(requested, open_qty, step)

    expected = (min(requested, total_open) // step) * step
    assert sum(allocation.values(), D(0)) == expected
    for leg_id, qty in allocation.items():
        assert D(0) < qty <= open_qty[leg_id]
        assert qty % step == 0  # each leg's share is whole steps when the legs are
        # Proportional: within one step of the leg's exact share.
        assert abs(qty - open_qty[leg_id] * expected / total_open) < step
    for leg_id in set(open_qty) - set(allocation):
        assert open_qty[leg_id] * expected / total_open < step


@given(
    st.lists(st.decimals(min_value=D("0.000001"), max_value=D(1000), places=6), min_size=1, max_size=8),
    st.decimals(min_value=D(0), max_value=D(5000), places=6),
)
def test_reduce_allocation_never_exceeds_a_leg_even_off_the_step_grid(opens, requested) -> None:
    open_qty = {i + 1: qty for i, qty in enumerate(opens)}
    step = D("0.001")
    allocation = allocate_reduce(requested, open_qty, step)

    total = sum(allocation.values(), D(0))
    assert total == (min(requested, sum(opens)) // step) * step
    assert all(D(0) < qty <= open_qty[leg_id] for leg_id, qty in allocation.items())
