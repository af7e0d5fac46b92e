"""The one access helper: who may look (any signed-in user) and who may act (console admins).

Two roles. An *admin* is a superuser or holds `dashboard.act`; an *operator* (made with
`manage.py create_operator`) sees everything and may act on nothing: every action view is wrapped
in `console_action`, which answers 403 to an operator whatever the template showed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET, require_POST

OPERATORS_GROUP = "operators"
View = Callable[..., HttpResponse]


def can_act(user: Any) -> bool:
    """True for console admins: superusers and holders of `dashboard.act`."""
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or user.has_perm("dashboard.act"))


def _signed_in(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                # htmx would swap the login page into a table cell; send the whole tab there instead.
                login = f"{settings.LOGIN_URL}?next={request.htmx.current_url_abs_path or '/'}"
                return HttpResponse(status=401, headers={"HX-Redirect": login})
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def console_view(view: View) -> View:
    """A page or fragment: GET only, signed in."""
    return _signed_in(require_GET(view))


def console_action(view: View) -> View:
    """A write: POST only, signed in, and a console admin (403 for operators)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_act(request.user):
            # An answer, not an exception: Django logs one "Forbidden: <path>" line, no traceback.
            return HttpResponseForbidden("read-only operator: actions are not allowed")
        return view(request, *args, **kwargs)

    return _signed_in(require_POST(checked))


def own_preference(view: View) -> View:
    """A write that touches only the signed-in user's own preferences (allowed for every role)."""
    return _signed_in(require_POST(view))
