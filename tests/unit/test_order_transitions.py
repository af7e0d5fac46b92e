"""An order's state follows the transition table: QUEUED → SUBMITTING → OPEN → PARTIALLY_FILLED →
FILLED, a cancel or a rejection on the way; a final state never changes again."""

from __future__ import annotations

import pytest

from trading.core.order_states import (
    BLOCKED,
    CANCELLED,
    CANCELLING,
    FILLED,
    FINAL,
    OPEN,
    PARTIALLY_FILLED,
    QUEUED,
    REJECTED,
    SUBMITTING,
    TRANSITIONS,
    IllegalOrderTransition,
    check_transition,
)
from trading.models import OrderState

# Every move the engine makes, and why.
ALLOWED = [
    (QUEUED, SUBMITTING),  # its batch is about to be sent
    (QUEUED, CANCELLED),  # dropped before it was sent (exit, entries stopped)
    (QUEUED, BLOCKED),  # pre-flight: the exchange would refuse it
    (SUBMITTING, QUEUED),  # never reached the exchange: sent again with the same client id
    (SUBMITTING, OPEN),
    (SUBMITTING, PARTIALLY_FILLED),
    (SUBMITTING, FILLED),
    (SUBMITTING, CANCELLED),  # e.g. an IOC remainder the exchange cancelled at once
    (SUBMITTING, REJECTED),
    (SUBMITTING, CANCELLING),  # cancelled while its answer is still being looked up
    (OPEN, PARTIALLY_FILLED),
    (OPEN, FILLED),
    (OPEN, CANCELLING),
    (OPEN, CANCELLED),  # cancelled or expired by the exchange, or no longer known to it
    (OPEN, REJECTED),
    (PARTIALLY_FILLED, FILLED),
    (PARTIALLY_FILLED, CANCELLING),
    (PARTIALLY_FILLED, CANCELLED),
    (CANCELLING, CANCELLED),
    (CANCELLING, FILLED),  # the fill won the race against our cancel
    (CANCELLING, REJECTED),
]

REFUSED = [
    (FILLED, OPEN),
    (FILLED, CANCELLED),
    (CANCELLED, OPEN),
    (CANCELLED, QUEUED),
    (REJECTED, SUBMITTING),
    (BLOCKED, SUBMITTING),
    (QUEUED, OPEN),  # never sent: the exchange cannot have it
    (QUEUED, FILLED),
    (QUEUED, REJECTED),
    (OPEN, QUEUED),  # the exchange holds it: re-queueing would send it twice
    (PARTIALLY_FILLED, OPEN),  # nothing un-fills
    (PARTIALLY_FILLED, QUEUED),
    (PARTIALLY_FILLED, REJECTED),
    (CANCELLING, OPEN),
    (CANCELLING, PARTIALLY_FILLED),
    (OPEN, BLOCKED),
]


def test_the_table_names_every_order_state_and_nothing_else():
    assert set(TRANSITIONS) == set(OrderState.values)
    assert set().union(*TRANSITIONS.values()) <= set(OrderState.values)


def test_the_table_is_exactly_the_moves_the_engine_makes():
    table = {(old, new) for old, following in TRANSITIONS.items() for new in following}
    assert table == set(ALLOWED)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_an_allowed_move_passes(old, new):
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_an_illegal_move_raises(old, new):
    with pytest.raises(IllegalOrderTransition) as raised:
        check_transition(old, new)
    assert (raised.value.old, raised.value.new) == (old, new)
    assert str(raised.value) == f"an order cannot move from {old} to {new}"


def test_the_happy_path_is_allowed_step_by_step():
    path = [QUEUED, SUBMITTING, OPEN, PARTIALLY_FILLED, FILLED]
    for old, new in zip(path, path[1:], strict=False):
        check_transition(old, new)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_a_final_state_never_changes_again(final):
    for new in TRANSITIONS:
        if new != final:
            with pytest.raises(IllegalOrderTransition):
                check_transition(final, new)


def test_the_final_states_are_filled_cancelled_rejected_and_blocked():
    assert FINAL == {FILLED, CANCELLED, REJECTED, BLOCKED}


@pytest.mark.parametrize("state", sorted(TRANSITIONS))
def test_staying_put_is_no_move(state):
    check_transition(state, state)  # a report that changes nothing (still open, still cancelling)
