"""Health, pool, configuration, events and closed trades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from ninja import Body, Query, Router, Status

from trading import config_service
from trading.config_schema import ConfigInvalid, masked_document
from trading.config_service import ConfigConflict
from trading.core.routing import QueueReason
from trading.models import EngineState, Event, PositionGroup, QueueEntry
from trading.models.groups import OPEN_STATUSES
from trading.reads.filters import market_filter

from .schemas import (
    MAX_LIMIT,
    MAX_OFFSET,
    ConfigConflictOut,
    ConfigErrorOut,
    ConfigOut,
    ErrorOut,
    EventPage,
    HealthOut,
    PoolOut,
    SymbolParam,
    TimeframeParam,
    page,
)

router = Router(tags=["system"])

# Older than this (or three heartbeat intervals, if longer) and the engine is reported stopped.
HEARTBEAT_STALE_AFTER = timedelta(seconds=10)
# Health fields that come from the database: null when it is down.
_READ_FROM_DB = (
    "heartbeat_at",
    "last_webhook_at",
    "config_version",
    "instance_name",
    "mode",
    "skipped_ticks",
)


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
        app = config_service.current().app
        version = config_service.current_version()
    except DatabaseError:
        return Status(503, {"engine": "unknown", "db": "error", **dict.fromkeys(_READ_FROM_DB)})
    return Status(
        200,
        {
            "engine": engine_status(state, datetime.now(UTC)),
            "heartbeat_at": state.heartbeat_at if state else None,
            "db": "ok",
            "last_webhook_at": state.last_webhook_at if state else None,
            "config_version": version,
            # Which install answers, and whether it trades real money: a monitor can alert on either.
            "instance_name": app.instance_name,
            "mode": app.mode,
            "skipped_ticks": state.skipped_ticks if state else 0,
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


def _config_out(response: HttpResponse | None = None) -> dict:
    cfg = config_service.current()  # first, so an empty database is initialised before reading the version
    version = config_service.current_version()
    if response is not None:
        response["ETag"] = f'"{version}"'
    return {"version": version, "config": masked_document(cfg)}


@router.get("/config", response=ConfigOut)
def get_config(request: HttpRequest, response: HttpResponse) -> dict:
    """The configuration in force, secrets masked (send a masked value back to keep the secret).

    The answer can be sent back to `PUT config` unchanged; its `version` (also the `ETag`) makes
    that PUT conditional."""
    return _config_out(response)


_WRAPPER_KEYS = {"version", "config"}


def _field_error(field: str, message: str) -> ConfigInvalid:
    return ConfigInvalid([{"field": field, "message": message}])


def _stored_version(value: object, field: str) -> int:
    if isinstance(value, str):
        value = value.strip().removeprefix("W/").strip('"')
        value = int(value) if value.isdigit() else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _field_error(field, "must be the config version a GET returned (a whole number from 1)")
    return value


def _unwrap(body: dict[str, Any], if_match: str | None) -> tuple[dict[str, Any], int | None]:
    """The document to apply and the version it must replace (None: unconditional).

    A body with a `config` key is `GET config`'s answer: `{"version": <stored version>, "config": {…}}`
    (the document's own top-level `version` is its format version, so a bare document never makes
    the PUT conditional). `If-Match: <version>` makes either form conditional.
    """
    expected = None
    if if_match is not None and if_match.strip() != "*":
        expected = _stored_version(if_match, "If-Match")
    if "config" not in body:
        return body, expected
    extra = sorted(set(body) - _WRAPPER_KEYS)
    if extra:
        raise _field_error(extra[0], 'a wrapped document holds only "version" and "config"')
    if not isinstance(body["config"], dict):
        raise _field_error("config", "must be a JSON object (the configuration document)")
    if "version" in body:
        version = _stored_version(body["version"], "version")
        if expected is not None and version != expected:
            raise _field_error("version", f"is {version} but If-Match says {expected}; send one of them")
        expected = version
    return body["config"], expected


@router.put("/config", response={200: ConfigOut, 403: ErrorOut, 409: ConfigConflictOut, 422: ConfigErrorOut})
def put_config(request: HttpRequest, document: Body[dict[str, Any]], response: HttpResponse) -> Status[dict]:
    """Validate and save a full or partial document, bare or as `GET config` returned it; the engine
    applies it on its next tick. With a version (`If-Match` or the wrapper's `version`) it is saved
    only if the stored config is still that version, else 409 with the current version."""
    try:
        incoming, expected = _unwrap(document, request.headers.get("If-Match"))
        config_service.update(incoming, source="api", expected_version=expected)
    except ConfigInvalid as exc:
        return Status(422, {"detail": "invalid config", "errors": exc.errors})
    except ConfigConflict as exc:
        response["ETag"] = f'"{exc.current}"'
        detail = (
            f"config changed since version {exc.expected}: it is now version {exc.current}; "
            "GET it again and re-apply your change"
        )
        return Status(409, {"detail": detail, "current_version": exc.current})
    return Status(200, _config_out(response))


@router.get("/events", response=EventPage)
def list_events(
    request: HttpRequest,
    category: Query[Event.Category | None] = None,
    severity: Query[Event.Severity | None] = None,
    symbol: Query[SymbolParam | None] = None,
    timeframe: Query[TimeframeParam | None] = None,
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
    rows = rows.filter(market_filter(symbol, timeframe))
    if since is not None:
        rows = rows.filter(created_at__gte=since if since.tzinfo else since.replace(tzinfo=UTC))
    return page(rows, limit, offset)
