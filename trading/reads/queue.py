"""The waiting queue ranked as the engine ranks it, priced with the last prices the engine persisted."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Q

from exchanges.models import ExchangeAccount
from trading import config_service
from trading.core.queue import QueuedEntry, RankedEntry, rank_queue
from trading.core.types import Side
from trading.models import GroupStatus, PositionGroup, QueueEntry
from trading.models.groups import OPEN_STATUSES

from .prices import last_prices

_LOSS_QUANTUM = Decimal("0.0001")


def rank(
    entries: list[QueueEntry], prices: Mapping[str, Decimal], priority: tuple[str, ...] | list[str]
) -> list[RankedEntry]:
    """The queue best first by `priority`, operator-promoted entries ahead of the rules.

    `prices` maps a symbol to its current price (an unpriced entry ranks after every priced one).
    The engine ranks the same way with the prices it fetched (`trading.engine.queueing.ranked`).
    """
    if not entries:
        return []
    live_keys = {
        (g.account_id, g.symbol, g.timeframe, g.side)
        for g in PositionGroup.objects.filter(status__in=OPEN_STATUSES)
        .exclude(status=GroupStatus.CLOSING)  # a closing group takes no continuation
        .only("account_id", "symbol", "timeframe", "side")
    }
    core = [
        QueuedEntry(
            entry_id=e.pk,
            symbol=e.symbol,
            timeframe=e.timeframe,
            side=Side(e.side),
            entry_price=e.entry_price,
            replacement_count=e.replacement_count,
            queued_at=e.queued_at,
            expected_profit=e.expected_profit,
            continuation=(e.account_id, e.symbol, e.timeframe, e.side) in live_keys,
        )
        for e in entries
    ]
    order = rank_queue(core, prices, priority)
    promoted = {e.pk: e.promoted_at for e in entries if e.promoted_at is not None}
    if not promoted:
        return order
    order = sorted(
        order,
        key=lambda r: (r.entry.entry_id not in promoted, promoted.get(r.entry.entry_id) or 0, r.rank),
    )
    return [RankedEntry(entry=r.entry, rank=i + 1, loss_percent=r.loss_percent) for i, r in enumerate(order)]


def ranked_rows(where: Q | None = None) -> list[dict[str, Any]]:
    """Every waiting entry as a row, best first; `where` narrows the rows, never the ranks (rank 1 is
    the entry promoted next, whatever the filter)."""
    entries = list(QueueEntry.objects.all())
    # Labels only: loading whole accounts would decrypt their API secrets for every row.
    labels = dict(ExchangeAccount.objects.values_list("pk", "label"))
    by_symbol = {s: p for (_, s), p in last_prices((e.account_id, e.symbol) for e in entries).items()}
    ranked = rank(entries, by_symbol, config_service.current().waiting_rule.selection_priority)
    shown = set(QueueEntry.objects.filter(where).values_list("pk", flat=True)) if where else None
    by_id = {entry.pk: entry for entry in entries}
    rows = []
    for item in ranked:
        entry = by_id[item.entry.entry_id]
        if shown is not None and entry.pk not in shown:
            continue
        loss = item.loss_percent
        rows.append(
            {
                "id": entry.pk,
                "rank": item.rank,
                "account": labels[entry.account_id],
                "symbol": entry.symbol,
                "timeframe": entry.timeframe,
                "side": entry.side,
                "entry_price": entry.entry_price,
                "size_amount": entry.size_amount,
                "size_unit": entry.size_unit,
                "expected_profit": entry.expected_profit,
                "loss_percent": None if loss is None else loss.quantize(_LOSS_QUANTUM),
                "replacement_count": entry.replacement_count,
                "reason": entry.reason,
                "queued_at": entry.queued_at,
                "promoted_at": entry.promoted_at,
                "signal_id": entry.signal_id,
            }
        )
    return rows
