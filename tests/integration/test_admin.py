"""Django admin shows raw data read only (the engine is the only writer) and never a secret."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from exchanges.models import ExchangeAccount, Venue

pytestmark = pytest.mark.django_db

PAGES = [
    "trading_positiongroup",
    "trading_dcaleg",
    "trading_order",
    "trading_trade",
    "trading_signal",
    "trading_queueentry",
    "trading_command",
    "trading_event",
    "trading_configdocument",
    "exchanges_exchangeaccount",
    "exchanges_marketrule",
    "risk_riskaction",
]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-1")
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", PAGES)
def test_admin_changelists_load(admin_client, name):
    assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def test_trading_state_cannot_be_added_or_changed_in_admin(admin_client):
    assert admin_client.get(reverse("admin:trading_positiongroup_add")).status_code == 403
    assert admin_client.get(reverse("admin:trading_order_add")).status_code == 403


def test_account_page_never_shows_its_secrets(admin_client):
    account = ExchangeAccount.objects.create(
        label="bin",
        venue=Venue.BINANCE,
        api_key="KEY-visible-nowhere-1",
        api_secret="SECRET-visible-nowhere-2",
    )
    body = admin_client.get(
        reverse("admin:exchanges_exchangeaccount_change", args=[account.pk])
    ).content.decode()
    assert "SECRET-visible-nowhere-2" not in body
    assert "KEY-visible-nowhere-1" not in body


ENGINE_OWNED_ACCOUNT_FIELDS = ("label", "venue", "market_type", "sandbox", "entries_blocked_reason")


def test_admin_cannot_edit_engine_owned_account_fields(admin_client):
    account = ExchangeAccount.objects.create(
        label="bin", venue=Venue.BINANCE, market_type="spot", entries_blocked_reason="insufficient funds"
    )
    url = reverse("admin:exchanges_exchangeaccount_change", args=[account.pk])
    form = admin_client.get(url).content.decode()
    for name in ENGINE_OWNED_ACCOUNT_FIELDS:
        assert f'name="{name}"' not in form, name  # shown, not editable

    response = admin_client.post(
        url,
        {
            "label": "renamed",
            "venue": "okx",
            "market_type": "swap",
            "sandbox": "on",
            "entries_blocked_reason": "",
            "enabled": "",  # the operator's own switches stay editable
            "rate_limit_mode": "conservative",
        },
    )

    assert response.status_code == 302, response.content.decode()[:500]
    account.refresh_from_db()
    assert (account.label, account.venue, account.market_type, account.sandbox) == (
        "bin",
        "binance",
        "spot",
        False,
    )
    assert account.entries_blocked_reason == "insufficient funds"
    assert (account.enabled, account.rate_limit_mode) == (False, "conservative")


def test_admin_cannot_add_or_delete_accounts_or_market_rules(admin_client):
    account = ExchangeAccount.objects.create(label="bin", venue=Venue.BINANCE)
    assert admin_client.get(reverse("admin:exchanges_exchangeaccount_add")).status_code == 403
    assert admin_client.get(reverse("admin:exchanges_marketrule_add")).status_code == 403
    delete = reverse("admin:exchanges_exchangeaccount_delete", args=[account.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ExchangeAccount.objects.filter(pk=account.pk).exists()


# The operator's own switches: everything else on an engine-owned row is the engine's to write.
EDITABLE_IN_ADMIN = {
    "exchanges.ExchangeAccount": {"enabled", "rate_limit_mode"},
    "trading.ApiToken": set(),
    # The config document: form fields only, saved through the config service (never the row itself).
    "trading.ConfigDocument": {"config_json", "based_on"},
}


@pytest.mark.parametrize("app_label", ["trading", "exchanges", "risk"])
def test_admin_edits_no_engine_owned_field(rf, app_label):
    request = rf.get("/admin/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    for model in apps.get_app_config(app_label).get_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue
        label = model._meta.label
        assert not model_admin.has_add_permission(request), label
        if label != "trading.ApiToken":  # deleting a token revokes it: the operator's own row
            assert not model_admin.has_delete_permission(request), label
        if not model_admin.has_change_permission(request):
            continue
        obj = model()
        shown = set(model_admin.get_fields(request, obj))
        editable = shown - set(model_admin.get_readonly_fields(request, obj))
        assert editable <= EDITABLE_IN_ADMIN.get(label, set()), (label, editable)
