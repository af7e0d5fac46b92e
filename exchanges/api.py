"""`GET /api/v1/exchanges`: each account's connection status. Secrets only ever appear masked."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from .models import ExchangeAccount
from .secrets import mask
from .venues import PROFILES

router = Router(tags=["exchanges"])


class AccountOut(Schema):
    label: str
    venue: str
    market_type: str
    enabled: bool
    sandbox: bool
    sandbox_available: bool
    needs_passphrase: bool
    api_key: str  # masked: ****A4B19K
    has_secret: bool
    rate_limit_mode: str
    connected: bool
    last_ok_at: datetime | None
    last_error: str
    rate_limit_headroom: str | None
    markets_synced_at: datetime | None
    entries_blocked_reason: str


class ExchangesOut(Schema):
    encryption_key_source: str
    accounts: list[AccountOut]


def account_out(account: ExchangeAccount) -> dict:
    profile = PROFILES.get(account.venue)
    return {
        "label": account.label,
        "venue": account.venue,
        "market_type": account.market_type,
        "enabled": account.enabled,
        "sandbox": account.sandbox,
        "sandbox_available": bool(profile and account.market_type in profile.sandbox),
        "needs_passphrase": bool(profile and profile.needs_passphrase),
        "api_key": mask(account.api_key),
        "has_secret": bool(account.api_secret),
        "rate_limit_mode": account.rate_limit_mode,
        "connected": bool(account.last_ok_at) and not account.last_error,
        "last_ok_at": account.last_ok_at,
        "last_error": account.last_error,
        "rate_limit_headroom": None
        if account.rate_limit_headroom is None
        else str(account.rate_limit_headroom),
        "markets_synced_at": account.markets_synced_at,
        "entries_blocked_reason": account.entries_blocked_reason,
    }


@router.get("/exchanges", response=ExchangesOut)
def exchanges(request: HttpRequest) -> dict:
    """Per account: connected, last successful call, last error, rate-limit headroom (orders that
    could be sent now), market rules last synced, and whether new entries are stopped."""
    return {
        "encryption_key_source": settings.FIELD_ENCRYPTION_KEY_SOURCE,
        "accounts": [account_out(a) for a in ExchangeAccount.objects.order_by("label")],
    }
