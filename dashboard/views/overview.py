"""Section A: the dashboard, and the engine's Pause / Resume."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..access import console_action, console_view
from ..commands import enqueue
from ..data import common, overview
from .base import oob, render_page, state


@console_view
def dashboard(request: HttpRequest) -> HttpResponse:
    return render_page(request, "overview", "console/overview.html")


def _engine_command(request: HttpRequest, kind: str) -> HttpResponse:
    enqueue(request.user, kind)
    view = state(request)
    return oob(
        ("console/overview.html#stats", overview.stats(view)),
        ("base.html#engine-badge", common.engine_badge(view)),
        ("base.html#my-commands", common.my_commands(view)),
    )


@console_action
def pause(request: HttpRequest) -> HttpResponse:
    return _engine_command(request, "pause")


@console_action
def resume(request: HttpRequest) -> HttpResponse:
    return _engine_command(request, "resume")
