"""System status, and the two maintenance commands it offers (refresh markets, clear a block)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from exchanges.models import ExchangeAccount

from ..access import console_action, console_view
from ..commands import enqueue
from ..data import common
from ..data import status as data
from .base import oob, render_page, state


@console_view
def status(request: HttpRequest) -> HttpResponse:
    return render_page(request, "status", "console/status.html")


def _answer(request: HttpRequest) -> HttpResponse:
    view = state(request)
    return oob(
        ("console/status.html#status-panel", data.panel(view)),
        ("base.html#my-commands", common.my_commands(view)),
    )


@console_action
def refresh_markets(request: HttpRequest) -> HttpResponse:
    enqueue(request.user, "refresh_markets")
    return _answer(request)


@console_action
def clear_block(request: HttpRequest, label: str) -> HttpResponse:
    account = get_object_or_404(ExchangeAccount, label=label)
    enqueue(request.user, "clear_account_block", {"account": account.label})
    return _answer(request)
