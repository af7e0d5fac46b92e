"""/settings/accounts/: list, add, edit, enable/disable, test and delete exchange accounts.

Admins change; operators read (every write is a `console_action`). All changes go through
`exchanges.accounts`, the same service `add_account` and `check_account` use. Secrets are typed
into password fields that are never filled back in: the page shows the key masked (`****A4B19K`)
and only whether a secret and passphrase are set; an edit with a blank field keeps the stored value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from exchanges.accounts import (
    AccountRefused,
    AccountSpec,
    Credentials,
    create_account,
    delete_account,
    in_use_reason,
    run_check,
    set_enabled,
    update_account,
)
from exchanges.models import ExchangeAccount, MarketType, RateLimitMode, Venue
from exchanges.secrets import mask
from exchanges.venues import PROFILES
from trading import config_service

from ..access import console_action, console_view
from ..panels import page_context
from .base import layout, state

SETTINGS_NAV = "settings"  # the console's "Settings" tab
FORMS_PAGE = "settings-forms"  # panels.PAGES: only the common fragments (alerts, engine badge) are live
LIST_URL = "/settings/accounts/"


def settings_page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200):
    """A settings screen inside the console layout (alerts, engine badge, live socket) + `context`."""
    view = state(request)
    page = page_context(FORMS_PAGE, view)
    page.update(layout(request, view, nav=SETTINGS_NAV, live_query=urlencode({"page": FORMS_PAGE})))
    return render(request, template, {**page, **context}, status=status)


def _secret_input() -> forms.PasswordInput:
    # render_value=False: a re-shown form (after an error) never carries a typed secret back.
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class CredentialsForm(forms.Form):
    api_key = forms.CharField(
        label="API key", required=False, max_length=200, strip=True, widget=_secret_input()
    )
    api_secret = forms.CharField(
        label="API secret", required=False, max_length=300, strip=True, widget=_secret_input()
    )
    passphrase = forms.CharField(
        required=False, max_length=200, strip=True, widget=_secret_input(), help_text="OKX and KuCoin only"
    )
    rate_limit_mode = forms.ChoiceField(choices=RateLimitMode.choices, initial=RateLimitMode.EXCHANGE)

    def credentials(self) -> Credentials:
        data = self.cleaned_data
        return Credentials(data["api_key"], data["api_secret"], data["passphrase"])


class AddAccountForm(CredentialsForm):
    label = forms.SlugField(max_length=40, help_text="short name used in URLs and logs, e.g. binance-main")
    venue = forms.ChoiceField(choices=Venue.choices)
    market_type = forms.ChoiceField(choices=MarketType.choices, initial=MarketType.SPOT)
    sandbox = forms.BooleanField(label="Testnet", required=False, help_text="Binance and Bybit only")
    make_default = forms.BooleanField(
        label="Default account",
        required=False,
        help_text="route webhooks that name no known exchange here (exchange.default_account)",
    )
    field_order = ["label", "venue", "market_type", "sandbox", "api_key", "api_secret", "passphrase"]

    def spec(self) -> AccountSpec:
        data = self.cleaned_data
        return AccountSpec(
            label=data["label"],
            venue=data["venue"],
            market_type=data["market_type"],
            sandbox=data["sandbox"],
            rate_limit_mode=data["rate_limit_mode"],
        )


def _refused(form: forms.Form, exc: AccountRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


def _row(account: ExchangeAccount, default_label: str) -> dict[str, Any]:
    """What the list shows of an account: the key masked, the secret and passphrase as set or not."""
    profile = PROFILES.get(account.venue)
    return {
        "account": account,
        "key": mask(account.api_key),
        "has_secret": bool(account.api_secret),
        "has_passphrase": bool(account.passphrase),
        "needs_passphrase": bool(profile and profile.needs_passphrase),
        "is_default": account.label == default_label,
        "in_use": in_use_reason(account),
    }


def _list_page(request: HttpRequest, form: AddAccountForm | None = None, *, status: int = 200):
    default_label = config_service.current().exchange.default_account
    rows = [_row(a, default_label) for a in ExchangeAccount.objects.order_by("label")]
    return settings_page(
        request,
        "console/settings_accounts.html",
        {"rows": rows, "form": form or AddAccountForm(), "venues": PROFILES},
        status=status,
    )


def _edit_page(
    request: HttpRequest,
    account: ExchangeAccount,
    form: CredentialsForm | None = None,
    *,
    check: Any = None,
    status: int = 200,
):
    default_label = config_service.current().exchange.default_account
    form = form or CredentialsForm(initial={"rate_limit_mode": account.rate_limit_mode})
    context = {
        "row": _row(account, default_label),
        "form": form,
        "check": check,
        "edit_url": f"{LIST_URL}{account.label}/edit/",
    }
    return settings_page(request, "console/settings_accounts_edit.html", context, status=status)


def _actor(request: HttpRequest) -> str:
    return f"{request.user.get_username()} in the console"


@console_view
def accounts(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@console_view
def account(request: HttpRequest, label: str) -> HttpResponse:
    return _edit_page(request, get_object_or_404(ExchangeAccount, label=label))


@console_action
def add(request: HttpRequest) -> HttpResponse:
    form = AddAccountForm(request.POST)
    if form.is_valid():
        try:
            created = create_account(
                form.spec(),
                form.credentials(),
                actor=_actor(request),
                make_default=form.cleaned_data["make_default"],
            )
        except AccountRefused as exc:
            _refused(form, exc)
        else:
            messages.success(request, f"Account {created.label} added. Test it to check the keys.")
            return redirect(f"{LIST_URL}{created.label}/")
    return _list_page(request, form, status=400)


@console_action
def edit(request: HttpRequest, label: str) -> HttpResponse:
    target = get_object_or_404(ExchangeAccount, label=label)
    form = CredentialsForm(request.POST)
    if form.is_valid():
        try:
            changed = update_account(
                target,
                form.credentials(),
                rate_limit_mode=form.cleaned_data["rate_limit_mode"],
                actor=_actor(request),
            )
        except AccountRefused as exc:
            _refused(form, exc)
        else:
            shown = [c.replace("_", " ") for c in changed]
            note = f"Saved: {', '.join(shown)}." if changed else "Nothing changed."
            messages.success(request, note)
            return redirect(f"{LIST_URL}{target.label}/")
    return _edit_page(request, target, form, status=400)


@console_action
def toggle(request: HttpRequest, label: str, action: str) -> HttpResponse:
    target = get_object_or_404(ExchangeAccount, label=label)
    if action not in ("enable", "disable"):
        return HttpResponse(status=404)
    note = set_enabled(target, action == "enable", actor=_actor(request))
    messages.success(request, f"{target.label} {action}d." + (f" {note}." if note else ""))
    return redirect(LIST_URL)


@console_action
def test(request: HttpRequest, label: str) -> HttpResponse:
    """Run the `check_account` check now (markets, one market's rules, balance) and show it."""
    target = get_object_or_404(ExchangeAccount, label=label)
    symbol = (request.POST.get("symbol") or "BTC/USDT").strip()[:40]
    return _edit_page(request, target, check=run_check(target, symbol))


@console_action
def delete(request: HttpRequest, label: str) -> HttpResponse:
    target = get_object_or_404(ExchangeAccount, label=label)
    if request.POST.get("confirm") != target.label:
        messages.error(request, f"Type the label {target.label} to confirm the deletion.")
        return redirect(f"{LIST_URL}{target.label}/")
    try:
        delete_account(target, actor=_actor(request))
    except AccountRefused as exc:
        messages.error(request, f"Not deleted: {exc}.")
        return redirect(f"{LIST_URL}{target.label}/")
    messages.success(request, f"Account {label} deleted.")
    return redirect(LIST_URL)
