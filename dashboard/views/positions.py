"""Section B: positions, a group's legs (expand in place), a group's page, and Close."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from trading.models import GroupStatus, PositionGroup

from ..access import console_action, console_view
from ..commands import enqueue
from ..data import common
from ..data import positions as data
from .base import oob, render_fragment, render_page, state


@console_view
def positions(request: HttpRequest) -> HttpResponse:
    if request.htmx and not request.htmx.boosted:
        return render_fragment(request, "console/positions.html#positions-table", data.table(state(request)))
    return render_page(request, "positions", "console/positions.html")


@console_view
def group_page(request: HttpRequest, group_id: int) -> HttpResponse:
    get_object_or_404(PositionGroup, pk=group_id)
    return render_page(request, "group", "console/group.html", group=group_id)


@console_view
def legs(request: HttpRequest, group_id: int) -> HttpResponse:
    """Expand (or with ?open=0 collapse) a row; remembered in the session so live re-renders keep it."""
    group = get_object_or_404(PositionGroup.objects.select_related("account"), pk=group_id)
    expanded = request.GET.get("open", "1") != "0"
    data.set_expanded(request.session, group.pk, expanded)
    # Saved now, not after the response: a live push rendered from here on shows the new state,
    # and the page ignores the row state of pushes rendered before this moment (X-Rendered-At).
    request.session.save()
    request.session.modified = False
    saved_at = time.time()
    view = state(request)
    row = data.group_row(view, group, expanded)
    context = {"row": row, "max_pyramids": data.max_pyramids(), "can_act": view.can_act}
    response = render_fragment(request, "console/positions.html#group-row", context)
    response["X-Rendered-At"] = f"{saved_at:.6f}"
    return response


@console_action
def close(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(PositionGroup.objects.select_related("account"), pk=group_id)
    if group.status == GroupStatus.CLOSED:
        return HttpResponse(f"group #{group_id} is already closed", status=409)
    enqueue(request.user, "close_group", {"group_id": group.pk})
    view = state(request)
    return oob(
        ("base.html#group-actions", {"group": group, "pending": ["closing"], "can_act": True}),
        ("base.html#my-commands", common.my_commands(view)),
    )
