"""The waiting queue, ranked as the engine would promote it, and the operator's queue actions."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from exchanges.core.adapter import ExchangeAdapter, ExchangeError
from exchanges.models import ExchangeAccount, Venue
from trading.engine import queueing
from trading.engine.context import EngineContext
from trading.models import QueueEntry

from .routes_commands import ACCEPTED_OR_404, enqueue
from .schemas import QueueEntryOut

router = Router(tags=["queue"])

_LOSS_QUANTUM = Decimal("0.0001")


class _ReadContext(EngineContext):
    """An engine context for reading only: paper prices come from the database, live venues are not
    called from the web process (their entries rank as unpriced, after every priced one)."""

    def adapter(self, account: ExchangeAccount) -> ExchangeAdapter:
        if account.venue != Venue.PAPER:
            raise ExchangeError("live prices are not fetched by the web process")
        return super().adapter(account)


@router.get("/queue", response=list[QueueEntryOut])
def list_queue(request: HttpRequest) -> list[dict]:
    """Waiting entries, best first (rank 1 is promoted next)."""
    entries = list(QueueEntry.objects.select_related("account"))
    # A namespace is passed so building the context never writes the engine's state row.
    ranked = queueing.ranked(_ReadContext(namespace="api"), entries)
    by_id = {entry.pk: entry for entry in entries}
    rows = []
    for item in ranked:
        entry = by_id[item.entry.entry_id]
        loss = item.loss_percent
        rows.append(
            {
                "id": entry.pk,
                "rank": item.rank,
                "account": entry.account.label,
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


def _queue_command(request: HttpRequest, kind: str, entry_id: int) -> Status[dict]:
    if not QueueEntry.objects.filter(pk=entry_id).exists():
        raise HttpError(404, f"queue entry #{entry_id} not found")
    return enqueue(request, kind, {"entry_id": entry_id})


@router.post("/queue/{entry_id}/promote", response=ACCEPTED_OR_404)
def promote(request: HttpRequest, entry_id: int) -> Status[dict]:
    """Move the entry to the head of the queue; it opens now if the pool has room."""
    return _queue_command(request, "queue_promote", entry_id)


@router.post("/queue/{entry_id}/remove", response=ACCEPTED_OR_404)
def remove(request: HttpRequest, entry_id: int) -> Status[dict]:
    """Drop the entry; its signal is marked ignored."""
    return _queue_command(request, "queue_remove", entry_id)


@router.post("/queue/{entry_id}/force", response=ACCEPTED_OR_404)
def force(request: HttpRequest, entry_id: int) -> Status[dict]:
    """Open the entry even though the pool is full (the engine still refuses unsafe cases)."""
    return _queue_command(request, "queue_force", entry_id)
