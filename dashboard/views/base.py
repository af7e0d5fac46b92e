"""Rendering shared by the page views: the whole page, one fragment, or out-of-band fragments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from trading import config_service

from ..data import common
from ..data.state import ViewState
from ..panels import page_context


def render_page(request: HttpRequest, page: str, template: str, **params: Any) -> HttpResponse:
    """The full page: every fragment of `page`, the layout, and the socket URL that keeps it live."""
    view = ViewState.of(request, **params)
    context = page_context(page, view)
    live = {"page": page, **{k: v for k, v in view.params.lists() if k != "page"}}
    if "after" in context:
        live["after"] = context["after"]
    context.update(layout(request, view, nav=page, live_query=urlencode(live, doseq=True)))
    return render(request, template, context)


def layout(request: HttpRequest, view: ViewState, *, nav: str, live_query: str) -> dict[str, Any]:
    """What base.html needs on every console page: the tab, the instance, theme and font size."""
    cfg = config_service.current()
    return {
        "nav": nav,
        "instance_name": cfg.app.instance_name,
        "app_mode": cfg.app.mode,
        "theme": common.theme_for(request.user),
        "font_size": cfg.ui.font_size,
        "live_query": live_query,
        "is_admin": view.can_act,
    }


def render_fragment(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, template, context)


def oob(*fragments: tuple[str, dict]) -> HttpResponse:
    """An action's answer: fragments swapped out of band (the button itself uses hx-swap=none)."""
    html = "".join(render_to_string(template, {**context, "oob": True}) for template, context in fragments)
    return HttpResponse(html)


def state(request: HttpRequest, **params: Any) -> ViewState:
    return ViewState.of(request, **params)
