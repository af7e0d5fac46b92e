"""`/favicon.ico`: pages without a `<link rel=icon>` (admin, API docs) and browsers that ask anyway
get the console's icon instead of a 404 in the log."""

from __future__ import annotations

from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

ICON = "img/favicon.svg"


@cache
def _icon() -> bytes:
    path = finders.find(ICON)
    if not path:
        raise FileNotFoundError(ICON)
    with open(path, "rb") as fh:
        return fh.read()


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_icon(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
