"""Section E: the filtered event log, its live tail, and the rows of an export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from trading import config_service
from trading.models import Event
from trading.reads.filters import symbol_search

from ..forms import LOG_KINDS, log_filter, log_filter_problems
from .state import ViewState

SHOWN = 200
FILTER_KEYS = ("kind", "q", "symbol", "timeframe", "since", "until", "tz")
STREAM_BATCH = 200
EXPORT_FIELDS = (
    "id",
    "created_at",
    "severity",
    "category",
    "symbol",
    "timeframe",
    "group_id",
    "signal_id",
    "message",
)


def _search(text: str) -> Q:
    """Free text in the message, or a pair in any spelling ("BTCUSDT" finds BTC/USDT's events)."""
    where = Q(message__icontains=text) | Q(symbol__icontains=text)
    try:
        return where | symbol_search(text)
    except ValueError:  # not symbol-like ("order rejected"): text search only
        return where


def filtered(f: dict[str, Any]) -> QuerySet[Event]:
    rows = Event.objects.all()
    by_field: dict[str, set[str]] = {}
    for kind in f["kind"] or []:
        name, values = LOG_KINDS[kind]
        by_field.setdefault(name, set()).update(values)
    # Chips of one kind widen (OR); severity and category chips narrow each other (AND).
    for name, values in by_field.items():
        rows = rows.filter(**{f"{name}__in": sorted(values)})
    if f["q"]:
        rows = rows.filter(_search(f["q"]))
    if f["symbol"]:
        rows = rows.filter(symbol_search(f["symbol"]))
    if f["timeframe"]:
        rows = rows.filter(timeframe=f["timeframe"])
    if f["since"]:
        rows = rows.filter(created_at__gte=f["since"])
    if f["until"]:
        rows = rows.filter(created_at__lte=f["until"])
    return rows


def _replay_allowed() -> bool:
    return config_service.current().security.allow_webhook_replay


def page(view: ViewState) -> dict:
    f = log_filter(view.params)
    latest = list(filtered(f).order_by("-id")[:SHOWN])
    latest.reverse()  # oldest at the top, the live tail grows at the bottom
    return {
        "events": latest,
        "filters": f,
        "filter_problems": log_filter_problems(view.params),
        "kinds": list(LOG_KINDS),
        "filters_query": {key: view.params.getlist(key) for key in FILTER_KEYS if view.params.get(key)},
        "filtering": any(view.params.get(key) for key in FILTER_KEYS if key != "tz"),
        "after": latest[-1].pk if latest else (Event.objects.values_list("id", flat=True).first() or 0),
        "replay_allowed": _replay_allowed(),
        "can_act": view.can_act,
    }


def stream(view: ViewState) -> dict:
    """Events newer than what this page has shown, matching its filters; moves the cursor on."""
    after = int(view.cursor.get("after") or view.params.get("after") or 0)
    newest = Event.objects.values_list("id", flat=True).first() or after  # read first: no gap
    matching = filtered(log_filter(view.params)).filter(id__gt=after, id__lte=newest)
    rows = list(matching.order_by("id")[:STREAM_BATCH])
    view.cursor["after"] = rows[-1].pk if len(rows) == STREAM_BATCH else max(after, newest)
    return {"events": rows, "replay_allowed": _replay_allowed(), "can_act": view.can_act}


def export_rows(params: Any) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, read in chunks (a large export never sits in memory)."""
    for event in filtered(log_filter(params)).order_by("id").iterator(chunk_size=1000):
        yield {
            "id": event.pk,
            "created_at": event.created_at.isoformat(),
            "severity": event.severity,
            "category": event.category,
            "symbol": event.symbol,
            "timeframe": event.timeframe,
            "group_id": event.group_id_ref,
            "signal_id": event.signal_id_ref,
            "message": event.message,
        }
