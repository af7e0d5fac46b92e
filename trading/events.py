"""Record a decision: an Event row (console, API) and a JSON line in the rotating log file."""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from . import live
from .compiled import CompiledInsert
from .core.webhook_payload import MIN_MASKED_SECRET
from .models import Event

_file_logger: logging.Logger | None = None
_held = threading.local()  # events of an open `batched()` block (per thread: web threads record too)
# One INSERT per engine transaction that records anything: compiled once (trading/compiled.py).
_EVENTS = CompiledInsert(Event)

Category = Event.Category
Severity = Event.Severity


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal | datetime):
        return str(value)
    return repr(value)


def _log_file() -> logging.Logger:
    global _file_logger
    if _file_logger is None:
        path = settings.ENGINE_LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        logger = logging.getLogger("engine.events")
        logger.propagate = False
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=5)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        _file_logger = logger
    return _file_logger


def jsonable(context: dict[str, Any]) -> dict[str, Any]:
    """Decimals and datetimes as strings, so JSONField and the log line agree."""
    return json.loads(json.dumps(context, default=_json_default))


def _known_secrets() -> list[str]:
    # No query: the environment's secret and the one in the config this process last read. Events
    # are recorded on every path, including the config service's own, so this must stay cheap.
    from . import config_service  # late: config_service records events itself

    known = (settings.ENGINE_WEBHOOK_SECRET, config_service.cached_webhook_secret())
    return [secret for secret in known if len(secret) >= MIN_MASKED_SECRET]


def _masked(value: Any, secrets: list[str]) -> Any:
    """`value` with every secret masked, in strings and in key names (a sender may use one as a key)."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {_masked(key, secrets): _masked(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, secrets) for item in value]
    return value


@contextmanager
def batched() -> Iterator[None]:
    """Insert the events recorded inside the block together, in order, when it ends.

    For a block inside one transaction (an engine decision records several): its events commit or
    roll back with it as before, in one INSERT instead of one per event. Nothing inside may read
    them back before the block ends.
    """
    if getattr(_held, "events", None) is not None:
        yield  # already inside one: the outer block inserts them
        return
    _held.events = []
    try:
        yield
        _EVENTS.run(_held.events)
    finally:
        _held.events = None


def record(
    category: str,
    message: str,
    *,
    severity: str = Severity.INFO,
    symbol: str = "",
    timeframe: str = "",
    group_id: int | None = None,
    signal_id: int | None = None,
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Event:
    when = now or datetime.now(UTC)
    # The last line of defence for "secrets never reach an event or the log", whatever the caller did.
    secrets = _known_secrets()
    ctx = _masked(jsonable(context or {}), secrets)
    message = _masked(message, secrets)
    event = Event(
        created_at=when,
        category=category,
        severity=severity,
        symbol=symbol,
        timeframe=timeframe,
        group_id_ref=group_id,
        signal_id_ref=signal_id,
        message=message[:500],
        context=ctx,
    )
    held = getattr(_held, "events", None)
    if held is not None:
        held.append(event)
    else:
        event.save(force_insert=True)
    line = {
        "ts": when.isoformat(),
        "category": category,
        "severity": severity,
        "symbol": symbol,
        "timeframe": timeframe,
        "group": group_id,
        "signal": signal_id,
        "message": message,
        "context": ctx,
    }
    _log_file().info(json.dumps(line, default=_json_default))
    live.mark(category, group_id)
    return event
