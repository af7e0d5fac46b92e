"""Section F, settings: the config form, review (a diff) and apply through the config service.

Admins edit, operators read (every write is `console_action`). Nothing here validates a value: the
config service does, with the same validator as `PUT /api/v1/config`; a refused form changes
nothing. Apply saves with the version the form was built from, so a form someone else's save made
stale is refused with what changed meanwhile. The engine applies a saved change on its next tick.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from trading import config_diff, config_service
from trading.config_schema import (
    SECRET_FIELDS,
    SECTIONS,
    ConfigInvalid,
    EngineConfig,
    masked_document,
    merge_update,
)
from trading.config_service import ConfigConflict

from .. import settings_forms as forms
from ..access import console_action, console_view
from ..data import common
from ..data import settings as data
from .base import render_page, state

PAGE = "console/settings.html"


@console_view
def settings_page(request: HttpRequest) -> HttpResponse:
    return render_page(request, "settings", PAGE)


def _based_on(request: HttpRequest) -> int | None:
    text = request.POST.get("based_on", "")
    return int(text) if text.isdigit() else None


def _reset_section(request: HttpRequest) -> str:
    section = request.POST.get("reset", "")
    return section if section in SECTIONS else ""


def _incoming(request: HttpRequest) -> dict:
    """What the admin asks for: the posted form, or one section back at its defaults."""
    section = _reset_section(request)
    if not section:
        return forms.document_from_form(request.POST)
    defaults = SECTIONS[section]().model_dump(mode="json")
    for secret_section, name in SECRET_FIELDS:
        if secret_section == section:
            defaults.pop(name)  # a reset never clears a secret: webhooks would stop being checked
    return {section: defaults}


def _fragments(*parts: tuple[str, dict]) -> str:
    return "".join(render_to_string(f"{PAGE}#{name}", context) for name, context in parts)


def _field_errors(errors: dict[str, list[str]]) -> str:
    """Every input's error slot, out of band: filled where the config service objected, else emptied."""
    slots = [
        ("field-errors", {"bf": forms.BoundField(spec, None, errors.get(spec.key, [])), "oob": True})
        for spec in forms.specs()
        if spec.kind != "ladder"
    ]
    slots.append(("ladder-errors", {"ladder_errors": forms.ladder_messages(errors), "oob": True}))
    return _fragments(*slots)


def _answer(html: str, status: int = 200, trigger: dict | None = None) -> HttpResponse:
    response = HttpResponse(html, status=status)
    if trigger:
        response["HX-Trigger"] = json.dumps(trigger)
    return response


def _refused(errors: list[dict[str, str]]) -> HttpResponse:
    by_field, _ = forms.errors_by_field(errors)
    panel = _fragments(("review", {"outcome": "invalid", "errors": errors}))
    # 200, not 422: htmx swaps only successful answers by default, and the errors must show.
    return _answer(panel + _field_errors(by_field))


def _stale(request: HttpRequest, based_on: int | None) -> HttpResponse:
    """Someone saved since this form was built: say what changed meanwhile; the admin reloads."""
    current = masked_document(config_service.current())
    original = data.read_original(request.POST.get("original", ""))
    meanwhile = config_diff.diff_documents(original, current) if original is not None else []
    context = {
        "outcome": "stale",
        "based_on": based_on,
        "version": config_service.current_version(),
        "changes": meanwhile,
    }
    return _answer(_fragments(("review", context)), status=200)


@console_action
def review(request: HttpRequest) -> HttpResponse:
    """The diff of what Apply would save (nothing is saved here)."""
    based_on = _based_on(request)
    if based_on != config_service.current_version():
        return _stale(request, based_on)
    current = config_service.current()
    try:
        proposed = merge_update(current, _incoming(request))
    except ConfigInvalid as exc:
        return _refused(exc.errors)
    context = {
        "outcome": "review",
        "changes": config_diff.diff(current, proposed),
        "reset": _reset_section(request),
        "based_on": based_on,
    }
    return _answer(_fragments(("review", context)) + _field_errors({}))


@console_action
def apply(request: HttpRequest) -> HttpResponse:
    """Save through the config service, only if the stored config is still the form's version."""
    based_on = _based_on(request)
    if based_on is None:
        return _stale(request, based_on)
    before = config_service.current()
    incoming = _incoming(request)
    try:
        if not config_diff.diff(before, merge_update(before, incoming)):
            # Saving an unchanged form would only bump the version and make others' forms stale.
            return _answer(_fragments(("review", {"outcome": "review", "changes": []})))
        source = f"console by {request.user.get_username()}"
        cfg = config_service.update(incoming, source=source, expected_version=based_on)
    except ConfigInvalid as exc:
        return _refused(exc.errors)
    except ConfigConflict:
        return _stale(request, based_on)
    return _applied(request, before, cfg)


def _applied(request: HttpRequest, before: EngineConfig, cfg: EngineConfig) -> HttpResponse:
    """What was saved, the form moved to the new version, and ui.* applied to this page at once."""
    document = masked_document(cfg)
    version = config_service.current_version()
    theme = common.theme_for(request.user)
    html = _fragments(
        ("review", {"outcome": "applied", "changes": config_diff.diff(before, cfg), "version": version}),
        ("form-version", {"version": version, "original": data.sign_original(document), "oob": True}),
        ("engine-applied", {**data.engine_applied(state(request)), "oob": True}),
    )
    toggle = render_to_string("base.html#theme-toggle", {"theme": theme, "oob": True}, request=request)
    # console.js sets <html data-theme / data-font-size>; other open pages get them on their next load.
    ui = {"theme": theme, "fontSize": cfg.ui.font_size}
    return _answer(html + toggle + _field_errors({}), trigger={"uiChanged": ui})


@console_view
def ladder(request: HttpRequest) -> HttpResponse:
    """The DCA table with a level added or removed, and its preview (nothing is saved)."""
    rows = forms.ladder_edit(forms.ladder_rows(request.GET), request.GET.get("op", ""))
    limit = request.GET.get("grid_strategy.max_dca_per_pyramid", "")
    view = state(request)
    context = {
        "ladder_rows": rows,
        "ladder_max": int(limit) if limit.isdigit() else None,
        "can_edit": view.can_act,
    }
    preview = {**data.preview(rows, data.sample_market(view)), "oob": True}
    return HttpResponse(_fragments(("ladder-rows", context), ("ladder-preview", preview)))


@console_view
def preview(request: HttpRequest) -> HttpResponse:
    """The ladder's prices and quantities on the chosen market, computed by the engine's core code."""
    view = state(request)
    rows = forms.ladder_rows(request.GET)
    return HttpResponse(_fragments(("ladder-preview", data.preview(rows, data.sample_market(view)))))


@console_view
def ordered(request: HttpRequest) -> HttpResponse:
    """An ordered list (the selection priority) with one entry moved up or down (nothing is saved)."""
    key = request.GET.get("field", "")
    spec = next((spec for spec in forms.specs() if spec.key == key and spec.kind == "ordered"), None)
    if spec is None:
        return HttpResponse("unknown list", status=404)
    order = [choice for choice in request.GET.getlist(f"{key}.order") if choice in spec.choices]
    used = [choice for choice in request.GET.getlist(key) if choice in spec.choices]
    choice, _, direction = request.GET.get("move", "").partition(":")
    bf = forms.BoundField(spec, used, order=forms.move(order, choice, direction))
    return HttpResponse(_fragments(("ordered-list", {"bf": bf, "can_edit": state(request).can_act})))
