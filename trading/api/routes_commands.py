"""The command table: how every write reaches the engine, and how a client waits for its effect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from exchanges.models import ExchangeAccount
from trading.models import Command

from .auth import token_of
from .schemas import CommandAccepted, CommandOut, ErrorOut

router = Router(tags=["commands"])

ACCEPTED = {202: CommandAccepted, 403: ErrorOut}
ACCEPTED_OR_404 = {202: CommandAccepted, 403: ErrorOut, 404: ErrorOut}


def enqueue(request: HttpRequest, kind: str, args: dict[str, Any] | None = None) -> Status[dict]:
    """Insert one pending command for the engine and answer 202 with its id. The only API write path."""
    command = Command.objects.create(
        kind=kind, args=args or {}, created_by=token_of(request).user, created_at=datetime.now(UTC)
    )
    return Status(202, {"command_id": command.pk, "status": command.status})


@router.get("/commands/{command_id}", response={200: CommandOut, 404: ErrorOut})
def get_command(request: HttpRequest, command_id: int) -> Command:
    """A command's status (pending → [running →] applied | failed) and the engine's result message."""
    command = Command.objects.select_related("created_by").filter(pk=command_id).first()
    if command is None:
        raise HttpError(404, f"command #{command_id} not found")
    return command


@router.post("/engine/pause", response=ACCEPTED)
def pause(request: HttpRequest) -> Status[dict]:
    """Stop applying new signals (entries and exits wait in the inbox); fills, take-profit and commands go on."""
    return enqueue(request, "pause")


@router.post("/engine/resume", response=ACCEPTED)
def resume(request: HttpRequest) -> Status[dict]:
    return enqueue(request, "resume")


@router.post("/markets/refresh", response=ACCEPTED)
def refresh_markets(request: HttpRequest) -> Status[dict]:
    """Reload every account's market rules (tick, step, minimums) now."""
    return enqueue(request, "refresh_markets")


@router.post("/accounts/{label}/clear-block", response=ACCEPTED_OR_404)
def clear_account_block(request: HttpRequest, label: str) -> Status[dict]:
    """Allow new entries again on an account blocked after an auth or funds failure."""
    if not ExchangeAccount.objects.filter(label=label).exists():
        raise HttpError(404, f"account {label!r} not found")
    return enqueue(request, "clear_account_block", {"account": label})
