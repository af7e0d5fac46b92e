"""`/setup/`: the desktop app's first-run page (see desktop.first_run). Gone once someone can sign in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import first_run
from .accounts import anyone_can_sign_in

TEMPLATE = "desktop/setup.html"


class FirstAdminForm(UserCreationForm):
    """Username and password (twice, checked by AUTH_PASSWORD_VALIDATORS) of the first admin."""

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.is_staff = user.is_superuser = True  # the console's admin: may act, and open /admin/
        if commit:
            user.save()
        return user


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    if anyone_can_sign_in():
        return redirect(settings.LOGIN_URL)  # the one-time page is spent: sign in as usual
    token = request.POST.get("token") or request.GET.get("token", "")
    if not first_run.token_matches(settings.DATA_DIR, token):
        return render(request, TEMPLATE, {"bad_link": True}, status=403)
    form = FirstAdminForm(request.POST or None, initial={"username": "admin"})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if anyone_can_sign_in():  # a second tab got there first
                return redirect(settings.LOGIN_URL)
            user = form.save()
        first_run.retire_token(settings.DATA_DIR)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("/")
    return render(request, TEMPLATE, {"form": form, "token": token})
