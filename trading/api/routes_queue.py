"""The waiting queue, ranked as the engine would promote it, and the operator's queue actions."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from trading.models import QueueEntry
from trading.reads.filters import market_filter
from trading.reads.queue import ranked_rows

from .routes_commands import ACCEPTED_OR_404, enqueue
from .schemas import MAX_LIMIT, MAX_OFFSET, QueuePage, SymbolParam, TimeframeParam

router = Router(tags=["queue"])


@router.get("/queue", response=QueuePage)
def list_queue(
    request: HttpRequest,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Waiting entries, best first (rank 1 is promoted next, whatever the filter). Loss % is priced
    with the last price the engine persisted; an unpriced entry ranks after every priced one."""
    rows = ranked_rows(market_filter(symbol, timeframe))
    return {"count": len(rows), "limit": limit, "offset": offset, "items": rows[offset : offset + limit]}


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
