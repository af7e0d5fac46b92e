"""`GET /api/v1/exchanges`: each account's connection status; secrets only ever masked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from exchanges.models import ExchangeAccount, MarketType, Venue
from exchanges.registry import ensure_paper_account
from tests.factories import ApiTokenFactory

pytestmark = pytest.mark.django_db

BINANCE_KEY = "BINANCEKEY-0123456789-A4B19K"
BINANCE_SECRET = "binance-secret-never-shown-7Q2W"
OKX_KEY = "OKXKEY-abcdef-Z9Y8X7"
OKX_SECRET = "okx-secret-never-shown-3E4R"
OKX_PASSPHRASE = "okx-passphrase-never-shown"
SYNCED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def client(*, readonly: bool = False) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=readonly).plain}")


@pytest.fixture
def accounts() -> dict[str, ExchangeAccount]:
    paper = ensure_paper_account()
    binance = ExchangeAccount.objects.create(
        label="binance-main",
        venue=Venue.BINANCE,
        api_key=BINANCE_KEY,
        api_secret=BINANCE_SECRET,
        last_ok_at=SYNCED,
        markets_synced_at=SYNCED,
        rate_limit_headroom=Decimal("24.5"),
    )
    okx = ExchangeAccount.objects.create(
        label="okx-perp",
        venue=Venue.OKX,
        market_type=MarketType.SWAP,
        api_key=OKX_KEY,
        api_secret=OKX_SECRET,
        passphrase=OKX_PASSPHRASE,
        last_ok_at=SYNCED,
        last_error="AuthenticationError: invalid key",
        entries_blocked_reason="AuthenticationError: invalid key",
    )
    return {"paper": paper, "binance": binance, "okx": okx}


def exchanges(c: Client) -> tuple[str, dict[str, Any]]:
    response = c.get("/api/v1/exchanges")
    assert response.status_code == 200, response.content
    return response.content.decode(), response.json()


def by_label(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in body["accounts"]}


def test_lists_every_account_with_its_connection_status(accounts):
    _, body = exchanges(client())

    rows = by_label(body)
    assert list(rows) == ["binance-main", "okx-perp", "paper"]
    binance = rows["binance-main"]
    assert (binance["venue"], binance["market_type"], binance["enabled"]) == ("binance", "spot", True)
    assert binance["connected"] is True
    assert binance["last_error"] == ""
    assert binance["rate_limit_headroom"] == "24.50"
    assert datetime.fromisoformat(binance["last_ok_at"]) == SYNCED
    assert datetime.fromisoformat(binance["markets_synced_at"]) == SYNCED
    okx = rows["okx-perp"]
    assert okx["connected"] is False  # its last call failed
    assert okx["last_error"] == "AuthenticationError: invalid key"
    assert okx["entries_blocked_reason"] == "AuthenticationError: invalid key"
    paper = rows["paper"]
    assert (paper["venue"], paper["api_key"], paper["has_secret"], paper["connected"]) == (
        "paper",
        "",
        False,
        False,
    )
    assert paper["rate_limit_headroom"] is None


def test_api_keys_are_masked_and_secrets_never_appear(accounts):
    text, body = exchanges(client())

    rows = by_label(body)
    assert rows["binance-main"]["api_key"] == "****A4B19K"
    assert rows["okx-perp"]["api_key"] == "****Z9Y8X7"
    assert rows["binance-main"]["has_secret"] is True
    for secret in (BINANCE_KEY, BINANCE_SECRET, OKX_KEY, OKX_SECRET, OKX_PASSPHRASE, "never-shown"):
        assert secret not in text
    for row in rows.values():
        assert not {"api_secret", "secret", "passphrase"} & set(row)


def test_sandbox_availability_and_passphrase_needs_per_venue(accounts):
    rows = by_label(exchanges(client())[1])

    assert rows["binance-main"]["sandbox_available"] is True
    assert rows["binance-main"]["needs_passphrase"] is False
    assert rows["okx-perp"]["sandbox_available"] is False
    assert rows["okx-perp"]["needs_passphrase"] is True
    assert rows["paper"]["sandbox_available"] is False


def test_the_encryption_key_source_is_shown(accounts, settings):
    body = exchanges(client())[1]
    assert body["encryption_key_source"] == settings.FIELD_ENCRYPTION_KEY_SOURCE
    assert body["encryption_key_source"]


def test_a_read_only_token_may_read_it(accounts):
    _, body = exchanges(client(readonly=True))
    assert {row["label"] for row in body["accounts"]} == {"paper", "binance-main", "okx-perp"}


def test_it_needs_a_token(accounts):
    assert Client().get("/api/v1/exchanges").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nope").get("/api/v1/exchanges").status_code == 401
