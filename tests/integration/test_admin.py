"""Django admin shows raw data read only (the engine is the only writer) and never a secret."""

from __future__ import annotations

import pytest
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
