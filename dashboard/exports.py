"""Streamed log exports (.txt, .csv, .json): rows read with `iterator()` and sent in batches, so a
large export never sits in memory. Under ASGI the batches come through an async iterator (Django
would otherwise collect a sync iterator into a list before sending it)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from .data.logs import EXPORT_FIELDS, export_rows

BATCH = 500
CONTENT_TYPES = {"txt": "text/plain", "csv": "text/csv", "json": "application/json"}


def _txt(row: dict[str, Any]) -> str:
    where = " ".join(str(v) for v in (row["symbol"], row["timeframe"]) if v)
    group = f" group #{row['group_id']}" if row["group_id"] else ""
    return f"{row['created_at']} {row['severity'].upper():8} {row['category']:9} {where}{group}  {row['message']}\n"


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def chunks(kind: str, params: Any) -> Iterator[str]:
    """The export as text chunks of up to BATCH rows."""
    rows = export_rows(params)
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        yield buffer.getvalue()
        for batch in _batches(rows):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(batch)
            yield buffer.getvalue()
    elif kind == "json":
        yield "["
        first = True
        for batch in _batches(rows):
            body = ",\n".join(json.dumps(row, ensure_ascii=False) for row in batch)
            yield ("\n" if first else ",\n") + body
            first = False
        yield "\n]\n"
    else:
        for batch in _batches(rows):
            yield "".join(_txt(row) for row in batch)


async def _async_chunks(kind: str, params: Any) -> AsyncIterator[str]:
    source = chunks(kind, params)
    while True:
        # thread_sensitive: every step runs on the thread holding the cursor's connection.
        chunk = await sync_to_async(next, thread_sensitive=True)(source, None)
        if chunk is None:
            return
        yield chunk


def export_response(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    params = request.GET
    content = _async_chunks(kind, params) if isinstance(request, ASGIRequest) else chunks(kind, params)
    response = StreamingHttpResponse(content, content_type=f"{CONTENT_TYPES[kind]}; charset=utf-8")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="events-{stamp}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response
