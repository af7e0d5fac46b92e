"""Where an entry signal goes: a new group, a further pyramid, the waiting queue, or nowhere."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .types import Side


class Route(enum.StrEnum):
    OPEN_GROUP = "open_group"
    ADD_PYRAMID = "add_pyramid"
    QUEUE = "queue"
    IGNORE = "ignore"


class QueueReason(enum.StrEnum):
    POOL_FULL = "pool_full"
    PRECISION = "precision"  # market rules missing or stale
    OPPOSITE_SIDE = "opposite_side"  # the other side of this market is still live
    GROUP_CLOSING = "closing"  # this market's group is closing; a new entry opens a new group after


@dataclass(frozen=True)
class LiveGroup:
    group_id: int
    side: Side
    pyramid_count: int
    closing: bool = False  # an exit or TP close is in flight: it takes no more pyramids


@dataclass(frozen=True)
class PoolState:
    used: int
    max_open: int

    @property
    def has_free_slot(self) -> bool:
        return self.used < self.max_open


@dataclass(frozen=True)
class EntryDecision:
    route: Route
    reason: str
    queue_reason: QueueReason | None = None


def full_group_reason(side: Side, live: LiveGroup | None, max_pyramids: int) -> str | None:
    """Why an entry is ignored before anything else is looked at: its market's group, on its side,
    already has every pyramid. Nothing about the signal (price, funds, rules) can change that."""
    if live is None or live.closing or live.side is not side or live.pyramid_count < max_pyramids:
        return None
    return f"ignored: {live.pyramid_count}/{max_pyramids} pyramids on group #{live.group_id}"


def route_entry(
    side: Side,
    live: LiveGroup | None,
    pool: PoolState,
    max_pyramids: int,
    rules_ready: bool,
    waiting_for_slot: int = 0,
) -> EntryDecision:
    """Decide an entry. Pyramids never count toward the pool; only a new group takes a slot.

    `waiting_for_slot`: queued entries that could take a free slot right now (one freed since the
    queue was last promoted). A new group then joins the queue and is ranked with them: it competes
    for the slot, it does not jump the line.
    """
    if live is not None and live.closing:
        # Adding to a closing group would leave the new pyramid open in a group nobody manages.
        return EntryDecision(
            Route.QUEUE, f"queued: group #{live.group_id} is closing", QueueReason.GROUP_CLOSING
        )
    full = full_group_reason(side, live, max_pyramids)
    if full is not None:
        return EntryDecision(Route.IGNORE, full)
    if live is not None and live.side is side:
        if not rules_ready:
            return EntryDecision(
                Route.QUEUE, "queued: precision rules missing or stale", QueueReason.PRECISION
            )
        return EntryDecision(Route.ADD_PYRAMID, f"pyramid {live.pyramid_count + 1} on group #{live.group_id}")
    if live is not None:
        return EntryDecision(
            Route.QUEUE,
            f"queued: {live.side.value} group #{live.group_id} still live on this market",
            QueueReason.OPPOSITE_SIDE,
        )
    if not rules_ready:
        return EntryDecision(Route.QUEUE, "queued: precision rules missing or stale", QueueReason.PRECISION)
    if not pool.has_free_slot:
        return EntryDecision(
            Route.QUEUE, f"queued: pool full {pool.used}/{pool.max_open}", QueueReason.POOL_FULL
        )
    if waiting_for_slot > 0:
        waiting = f"{waiting_for_slot} entr{'y waits' if waiting_for_slot == 1 else 'ies wait'}"
        return EntryDecision(
            Route.QUEUE,
            f"queued: a slot is free but {waiting} for it; ranked with them",
            QueueReason.POOL_FULL,
        )
    return EntryDecision(Route.OPEN_GROUP, "open group")


def state_drift(prev_market_position: str | None, live_side: Side | None) -> str | None:
    """A warning when TradingView's idea of the previous position contradicts ours.

    A missed or duplicated alert is the commonest real-world failure of webhook bots.
    """
    if not prev_market_position:
        return None
    prev = prev_market_position.strip().lower()
    if prev == "flat" and live_side is not None:
        return f"state drift: TradingView says it was flat, the engine holds a {live_side.value} group"
    if prev in (Side.LONG.value, Side.SHORT.value) and live_side is None:
        return f"state drift: TradingView says it was {prev}, the engine holds nothing on this market"
    if prev in (Side.LONG.value, Side.SHORT.value) and live_side is not None and prev != live_side.value:
        return f"state drift: TradingView says it was {prev}, the engine holds a {live_side.value} group"
    return None
