"""Health, pool, configuration, events and closed trades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.db import DatabaseError
from django.http import HttpRequest
from ninja import Body, Query, Router, Status

from trading import config_service
from trading.config_schema import ConfigInvalid, masked_document
from trading.core.routing import QueueReason
from trading.models import EngineState, Event, PositionGroup, QueueEntry, Trade
from trading.models.groups import OPEN_STATUSES

from .schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    ConfigErrorOut,
    ConfigOut,
    ErrorOut,
    EventPage,
    HealthOut,
    PoolOut,
    TradePage,
    page,
)

router = Router(tags=["system"])

# Older than this (or three heartbeat intervals, if longer) and the engine is reported stopped.
HEARTBEAT_STALE_AFTER = timedelta(seconds=10)


def engine_status(state: EngineState | None, now: datetime) -> str:
    interval = config_service.current().app.heartbeat_interval_sec
    stale_after = max(HEARTBEAT_STALE_AFTER, timedelta(seconds=3 * interval))
    if state is None or state.heartbeat_at is None or now - state.heartbeat_at > stale_after:
        return EngineState.Status.STOPPED
    return state.status


@router.get("/health", auth=None, response={200: HealthOut, 503: HealthOut})
def health(request: HttpRequest) -> Status[dict]:
    """Public: status fields only, for load balancers and uptime checks. 503 when the database is down."""
    try:
        state = EngineState.objects.filter(pk=1).first()
        version = config_service.current_version()
    except DatabaseError:
        empty = {"heartbeat_at": None, "last_webhook_at": None, "config_version": None}
        return Status(503, {"engine": "unknown", "db": "error", **empty})
    return Status(
        200,
        {
            "engine": engine_status(state, datetime.now(UTC)),
            "heartbeat_at": state.heartbeat_at if state else None,
            "db": "ok",
            "last_webhook_at": state.last_webhook_at if state else None,
            "config_version": version,
        },
    )


@router.get("/pool", response=PoolOut)
def pool(request: HttpRequest) -> dict:
    """Open groups against the configured maximum, and what waits in the queue."""
    return {
        "max": config_service.current().execution_pool.max_open_groups,
        "used": PositionGroup.objects.filter(status__in=OPEN_STATUSES).count(),
        "queued": QueueEntry.objects.count(),
        "queued_waiting_precision": QueueEntry.objects.filter(reason=QueueReason.PRECISION).count(),
    }


def _config_out() -> dict:
    cfg = config_service.current()  # first, so an empty database is initialised before reading the version
    return {"version": config_service.current_version(), "config": masked_document(cfg)}


@router.get("/config", response=ConfigOut)
def get_config(request: HttpRequest) -> dict:
    """The configuration in force, secrets masked (send a masked value back to keep the secret)."""
    return _config_out()


@router.put("/config", response={200: ConfigOut, 403: ErrorOut, 422: ConfigErrorOut})
def put_config(request: HttpRequest, document: Body[dict[str, Any]]) -> Status[dict]:
    """Validate and save a full or partial document; the engine applies it on its next tick."""
    try:
        config_service.update(document, source="api")
    except ConfigInvalid as exc:
        return Status(422, {"detail": "invalid config", "errors": exc.errors})
    return Status(200, _config_out())


@router.get("/events", response=EventPage)
def list_events(
    request: HttpRequest,
    category: Query[Event.Category | None] = None,
    severity: Query[Event.Severity | None] = None,
    symbol: str | None = Query(None, max_length=40),
    since: Annotated[datetime | None, Query(description="ISO datetime; without an offset it is UTC")] = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Engine and webhook decisions, newest first."""
    rows = Event.objects.order_by("-created_at", "-id")
    if category is not None:
        rows = rows.filter(category=category)
    if severity is not None:
        rows = rows.filter(severity=severity)
    if symbol:
        rows = rows.filter(symbol=symbol)
    if since is not None:
        rows = rows.filter(created_at__gte=since if since.tzinfo else since.replace(tzinfo=UTC))
    return page(rows, limit, offset)


@router.get("/trades", response=TradePage)
def list_trades(
    request: HttpRequest,
    symbol: str | None = Query(None, max_length=40),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict:
    """Realised closes (leg TP, group TP, exit, risk, manual), newest first, P&L net of fees."""
    rows = Trade.objects.select_related("account").order_by("-closed_at", "-id")
    if symbol:
        rows = rows.filter(symbol=symbol)
    return page(rows, limit, offset)
