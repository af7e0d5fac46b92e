"""The webhook inbox: every signal received and what became of it."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router
from ninja.errors import HttpError

from trading.models import Signal, SignalStatus
from trading.reads.filters import symbol_filter

from .schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    ErrorOut,
    SignalDetailOut,
    SignalPage,
    SymbolParam,
    TimeframeParam,
    page,
)

router = Router(tags=["signals"])


@router.get("/signals", response=SignalPage)
def list_signals(
    request: HttpRequest,
    status: Query[SignalStatus | None] = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Signals, newest first, with their status and the reason the engine gave."""
    rows = Signal.objects.order_by("-id")
    if status is not None:
        rows = rows.filter(status=status)
    if symbol:  # a signal whose symbol could not be read still matches its ticker as sent
        rows = rows.filter(symbol_filter(symbol) | Q(raw_symbol__iexact=symbol.strip()))
    if timeframe:
        rows = rows.filter(timeframe=timeframe)
    return page(rows, limit, offset)


@router.get("/signals/{signal_id}", response={200: SignalDetailOut, 404: ErrorOut})
def get_signal(request: HttpRequest, signal_id: int) -> Signal:
    """One signal, including its payload (the webhook secret is redacted on receipt)."""
    signal = Signal.objects.filter(pk=signal_id).first()
    if signal is None:
        raise HttpError(404, f"signal #{signal_id} not found")
    return signal
