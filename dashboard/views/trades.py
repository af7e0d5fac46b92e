"""The trade history: closed trades filtered, sorted and paginated, and their CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from ..access import console_view
from ..data import trades as data
from .base import render_fragment, render_page, state

CSV_BATCH = 500


@console_view
def trades(request: HttpRequest) -> HttpResponse:
    if request.htmx and not request.htmx.boosted:
        return render_fragment(request, "console/trades.html#trades-table", data.table(state(request)))
    return render_page(request, "trades", "console/trades.html")


def csv_chunks(rows: Iterator[dict]) -> Iterator[str]:
    """The header, then the rows CSV_BATCH at a time (a large export never sits in memory)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=data.CSV_FIELDS)
    writer.writeheader()
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % CSV_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def _from_thread(source: Iterator[str]) -> AsyncIterator[str]:
    # Under ASGI Django would gather a sync iterator into one list; every step runs on the thread
    # that holds the cursor's connection (thread_sensitive).
    while (chunk := await sync_to_async(next, thread_sensitive=True)(source, None)) is not None:
        yield chunk


@console_view
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every trade the page's filters match (not just one page), in the page's order."""
    chunks = csv_chunks(data.csv_rows(request.GET))
    content = _from_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="trades-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
