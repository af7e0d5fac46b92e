"""The signed-in user's own preferences (allowed for operators too: it changes nothing shared)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from ..access import own_preference
from ..models import UserPreference


@own_preference
def theme(request: HttpRequest) -> HttpResponse:
    choice = request.POST.get("theme", "")
    if choice not in UserPreference.Theme.values:
        return HttpResponse("theme must be dark or light", status=400)
    UserPreference.objects.update_or_create(user=request.user, defaults={"theme": choice})
    if request.htmx:
        response = render(request, "base.html#theme-toggle", {"theme": choice, "oob": False})
        response["HX-Trigger"] = json.dumps({"themeChanged": {"value": choice}})
        return response
    back = request.POST.get("next") or "/"
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return redirect(back if safe else "/")
