"""Section D: the waiting queue and its commands (Promote, Remove, Force Add)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from trading.models import QueueEntry

from ..access import console_action, console_view
from ..commands import enqueue, pending_labels
from ..data import common
from .base import oob, render_page, state

QUEUE_COMMANDS = {"promote": "queue_promote", "remove": "queue_remove", "force": "queue_force"}


@console_view
def queue(request: HttpRequest) -> HttpResponse:
    return render_page(request, "queue", "console/queue.html")


@console_action
def entry_command(request: HttpRequest, entry_id: int, action: str) -> HttpResponse:
    entry = get_object_or_404(QueueEntry, pk=entry_id)
    if action not in QUEUE_COMMANDS:
        return HttpResponse(status=404)
    enqueue(request.user, QUEUE_COMMANDS[action], {"entry_id": entry.pk})
    row = {"id": entry.pk, "pending": pending_labels().get(("entry_id", entry.pk), [])}
    return oob(
        ("console/queue.html#queue-row-actions", {"row": row, "can_act": True}),
        ("base.html#my-commands", common.my_commands(state(request))),
    )
