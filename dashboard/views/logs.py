"""Section E: the event log (filters, live tail), exports, alert acknowledgement, webhook replay."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import format_html

from trading import config_service
from trading.models import Event, Signal

from ..access import console_action, console_view
from ..data import common
from ..data.common import ALERT_SEVERITIES
from ..exports import CONTENT_TYPES, export_response
from ..replay import replay_signal
from .base import oob, render_page, state


@console_view
def logs(request: HttpRequest) -> HttpResponse:
    return render_page(request, "logs", "console/logs.html")


@console_view
def export(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in CONTENT_TYPES:
        raise Http404("export as txt, csv or json")
    return export_response(request, kind)


@console_action
def acknowledge(request: HttpRequest, event_id: int) -> HttpResponse:
    """Acknowledge an alert: a console-side flag on the event, not trading state."""
    Event.objects.filter(pk=event_id, severity__in=ALERT_SEVERITIES).update(acknowledged=True)
    return oob(("base.html#alerts", common.alerts(state(request))))


@console_action
def acknowledge_all(request: HttpRequest) -> HttpResponse:
    Event.objects.filter(severity__in=ALERT_SEVERITIES, acknowledged=False).update(acknowledged=True)
    return oob(("base.html#alerts", common.alerts(state(request))))


@console_action
def replay(request: HttpRequest, signal_id: int) -> HttpResponse:
    if not config_service.current().security.allow_webhook_replay:
        return HttpResponse("webhook replay is off (security.allow_webhook_replay)", status=403)
    original = get_object_or_404(Signal, pk=signal_id)
    copy = replay_signal(original, request.user)
    return HttpResponse(
        format_html(
            '<span id="replay-{}" class="badge info" hx-swap-oob="true">replayed as #{}</span>',
            original.pk,
            copy.pk,
        )
    )
