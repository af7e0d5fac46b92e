"""Sign-in for the console and for Django's admin, both behind one throttle (see `dashboard.ratelimit`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import ratelimit

_OUTCOME = "_login_outcome"


# The outcome comes from auth's own signals, not from the response: a POST by someone already signed
# in is redirected without any password being checked, and must count neither way.
@receiver(user_logged_in, dispatch_uid="dashboard.login.signed_in")
def _signed_in(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    if request is not None:
        setattr(request, _OUTCOME, "signed in")


@receiver(user_login_failed, dispatch_uid="dashboard.login.refused")
def _refused(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    if request is not None:
        setattr(request, _OUTCOME, "refused")


def throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a sign-in view: refuse with 429 while throttled, count what the password check decided."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        attempt = ratelimit.login_attempt(request, request.POST.get("username", ""))
        if attempt.retry_after:
            response = render(
                request, "registration/login.html", {"locked_out": True, "form": None}, status=429
            )
            response["Retry-After"] = str(attempt.retry_after)
            return response
        response = view(request, *args, **kwargs)
        outcome = getattr(request, _OUTCOME, None)
        if outcome == "signed in":
            ratelimit.succeeded(attempt, response)
        elif outcome == "refused":
            ratelimit.failed(attempt)
        return response

    return wrapped


login = throttled(
    LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True)
)
# `/admin/login/` is routed here ahead of `admin.site.urls`, so the admin has no unthrottled door.
admin_login = throttled(admin.site.login)
