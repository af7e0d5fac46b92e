"""An order's life as a transition table: which state may follow which (pure: no Django).

The happy path is QUEUED → SUBMITTING → OPEN → PARTIALLY_FILLED → FILLED. The values are those of
`trading.models.OrderState` (a unit test holds the two together).
"""

from __future__ import annotations

QUEUED = "queued"
SUBMITTING = "submitting"
OPEN = "open"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELLING = "cancelling"
CANCELLED = "cancelled"
REJECTED = "rejected"
BLOCKED = "blocked"


class IllegalOrderTransition(ValueError):
    """A move the table does not allow: a bug in the engine, never something to carry on from."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"an order cannot move from {old} to {new}")
        self.old = old
        self.new = new


# What may follow each state. Once an order is sent, the exchange's report has the last word: a fill
# may race our cancel (CANCELLING → FILLED), the exchange may cancel or expire an order of its own
# accord (OPEN → CANCELLED), and a request whose answer was lost is looked up later, so SUBMITTING
# can turn into anything the exchange says. Nothing un-fills: no way back to OPEN once something filled.
TRANSITIONS: dict[str, frozenset[str]] = {
    # Sent in a batch, dropped before sending (exit, entries stopped), or refused by pre-flight.
    QUEUED: frozenset({SUBMITTING, CANCELLED, BLOCKED}),
    # Back to QUEUED only while the exchange provably never got it (its batch stopped before it, or
    # a lookup by client id found nothing once any request in flight had timed out): it is sent
    # again with the same client id.
    SUBMITTING: frozenset({QUEUED, OPEN, PARTIALLY_FILLED, FILLED, CANCELLING, CANCELLED, REJECTED}),
    # REJECTED after OPEN: a venue may refuse an order right after acknowledging it.
    OPEN: frozenset({PARTIALLY_FILLED, FILLED, CANCELLING, CANCELLED, REJECTED}),
    PARTIALLY_FILLED: frozenset({FILLED, CANCELLING, CANCELLED}),
    # REJECTED: a cancel sent for an order whose lost create request the exchange had refused.
    CANCELLING: frozenset({FILLED, CANCELLED, REJECTED}),
    FILLED: frozenset(),
    CANCELLED: frozenset(),
    REJECTED: frozenset(),
    BLOCKED: frozenset(),
}

FINAL = frozenset(state for state, following in TRANSITIONS.items() if not following)


def check_transition(old: str, new: str) -> None:
    """Raise IllegalOrderTransition unless `new` may follow `old`. Staying put is no move: a report
    that changes nothing (still open, still cancelling) is always allowed."""
    if old == new:
        return
    if old not in TRANSITIONS or new not in TRANSITIONS[old]:
        raise IllegalOrderTransition(old, new)
