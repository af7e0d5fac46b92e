"""Sign-in with Django's LoginView, throttled (see `dashboard.ratelimit`)."""

from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import ratelimit

_login = LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True)


def login(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "") if request.method == "POST" else ""
    if request.method == "POST" and ratelimit.locked_out(request, username):
        context = {"locked_out": True, "form": None}
        return render(request, "registration/login.html", context, status=429)
    response = _login(request)
    if request.method == "POST":
        if response.status_code == 302:
            ratelimit.succeeded(request, username)
        else:
            ratelimit.failed(request, username)
    return response
