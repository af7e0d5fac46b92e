"""Ranking of entries waiting for a free slot: which is promoted next, which is evicted first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .types import DcaLevel, Side

_HUNDRED = Decimal(100)

PRIORITY_RULES = (
    "pyramid_continuation",
    "highest_loss_percent",
    "highest_replacement_count",
    "highest_expected_profit",
    "fifo",
)


@dataclass(frozen=True)
class QueuedEntry:
    entry_id: int
    symbol: str
    timeframe: str
    side: Side
    entry_price: Decimal
    replacement_count: int
    queued_at: datetime
    expected_profit: Decimal
    continuation: bool  # it continues a live group, i.e. it would be a pyramid


@dataclass(frozen=True)
class RankedEntry:
    entry: QueuedEntry
    rank: int  # 1 = promoted next
    loss_percent: Decimal | None  # None without a live price


def queued_loss_percent(side: Side, entry_price: Decimal, live_price: Decimal) -> Decimal:
    """P/L % of an entry at the queued price marked at the live price; negative = a deeper discount now."""
    change = (live_price - entry_price) / entry_price * _HUNDRED
    return change if side is Side.LONG else -change


def expected_profit(levels: Sequence[DcaLevel], size_quote: Decimal) -> Decimal:
    """Profit if every leg fills and reaches its own TP, in quote currency."""
    return sum(
        (level.weight_percent / _HUNDRED * level.tp_percent / _HUNDRED * size_quote for level in levels),
        Decimal(0),
    )


_SortKey = Callable[[QueuedEntry, "Decimal | None"], Any]

# Each key sorts ascending, so "highest first" rules negate.
_KEYS: dict[str, _SortKey] = {
    "pyramid_continuation": lambda e, loss: not e.continuation,
    # Entries without a live price cannot be judged, so they go after every priced one.
    "highest_loss_percent": lambda e, loss: (1, Decimal(0)) if loss is None else (0, loss),
    "highest_replacement_count": lambda e, loss: -e.replacement_count,
    "highest_expected_profit": lambda e, loss: -e.expected_profit,
    "fifo": lambda e, loss: e.queued_at,
}


def rank_queue(
    entries: Sequence[QueuedEntry], live_prices: Mapping[str, Decimal], priority: Sequence[str]
) -> list[RankedEntry]:
    """Rank entries best first by the configured rules in order; entry_id breaks remaining ties."""
    unknown = [name for name in priority if name not in _KEYS]
    if unknown:
        raise ValueError(f"unknown queue priority rule(s) {unknown}; known: {', '.join(PRIORITY_RULES)}")
    keys = [_KEYS[name] for name in priority]

    losses: dict[int, Decimal | None] = {}
    for entry in entries:
        live = live_prices.get(entry.symbol)
        losses[entry.entry_id] = (
            None if live is None else queued_loss_percent(entry.side, entry.entry_price, live)
        )

    def sort_key(entry: QueuedEntry) -> tuple[Any, ...]:
        loss = losses[entry.entry_id]
        return (*(key(entry, loss) for key in keys), entry.entry_id)

    ordered = sorted(entries, key=sort_key)
    return [RankedEntry(entry, rank, losses[entry.entry_id]) for rank, entry in enumerate(ordered, start=1)]


def is_expired(queued_at: datetime, now: datetime, max_age_minutes: int) -> bool:
    """Whether an entry has waited `max_age_minutes` or longer; 0 means entries never expire."""
    if queued_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("queue times must be timezone-aware")
    if max_age_minutes <= 0:
        return False
    return now - queued_at >= timedelta(minutes=max_age_minutes)


def select_evictee(ranked: Sequence[RankedEntry]) -> QueuedEntry | None:
    """The lowest-ranked entry, dropped when the queue is over its limit."""
    if not ranked:
        return None
    return max(ranked, key=lambda r: r.rank).entry
