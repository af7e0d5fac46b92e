"""Section C: the risk panel and its commands (Run Now, Skip Once, Block, Unblock)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from trading.models import PositionGroup

from ..access import console_action, console_view
from ..commands import enqueue, pending_labels
from ..data import common
from ..data import risk as data
from .base import oob, render_page, state

GROUP_COMMANDS = {"skip": "risk_skip", "block": "risk_block", "unblock": "risk_unblock"}


@console_view
def risk(request: HttpRequest) -> HttpResponse:
    return render_page(request, "risk", "console/risk.html")


@console_action
def run_now(request: HttpRequest) -> HttpResponse:
    enqueue(request.user, "risk_run", {"force": request.POST.get("force") == "1"})
    view = state(request)
    return oob(
        ("console/risk.html#risk-plan", data.plan(view)),
        ("base.html#my-commands", common.my_commands(view)),
    )


@console_action
def group_command(request: HttpRequest, group_id: int, action: str) -> HttpResponse:
    group = get_object_or_404(PositionGroup, pk=group_id)
    if action not in GROUP_COMMANDS:
        return HttpResponse(status=404)
    enqueue(request.user, GROUP_COMMANDS[action], {"group_id": group.pk})
    view = state(request)
    pending = pending_labels().get(("group_id", group.pk), [])
    return oob(
        ("console/risk.html#risk-row-actions", {"group": group, "pending": pending, "can_act": True}),
        ("base.html#my-commands", common.my_commands(view)),
    )
