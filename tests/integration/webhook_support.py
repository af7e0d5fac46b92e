"""What the webhook tests share: posting like a sender would, and reading what the intake left behind."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from tests.conftest import signal_payload
from trading.models import Command, DcaLeg, Event, Order, PositionGroup, Pyramid, QueueEntry, Trade

URL = "/webhooks/tradingview"


def post(
    client: Client,
    payload: dict[str, Any] | None = None,
    *,
    raw: bytes | None = None,
    path: str = URL,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    **extra: Any,
):
    """POST a payload (or raw bytes) exactly as a webhook sender would; `extra` sets WSGI environ keys."""
    body = raw if raw is not None else json.dumps(payload or signal_payload()).encode()
    # generic(), not post(): post() re-encodes the bytes for a charset named in the content type.
    return client.generic("POST", path, body, content_type, headers=headers, **extra)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trading_state() -> dict[str, int]:
    """Row counts of everything only the engine may write (the inbox `Signal` excluded)."""
    models = (PositionGroup, Pyramid, DcaLeg, Order, Trade, QueueEntry, Command)
    return {model.__name__: model.objects.count() for model in models}


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(event_id: int) -> list[Event]:
    return list(Event.objects.filter(id__gt=event_id).order_by("id"))


def log_offset() -> int:
    path = Path(settings.ENGINE_LOG_FILE)
    return path.stat().st_size if path.exists() else 0


def log_since(offset: int) -> str:
    """The JSON log lines written since `offset` (the file is shared by the whole test run)."""
    path = Path(settings.ENGINE_LOG_FILE)
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")
