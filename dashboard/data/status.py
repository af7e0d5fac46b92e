"""System status: exchange accounts, engine loop, webhook activity, encryption key source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from exchanges.models import ExchangeAccount, Venue
from trading import config_service
from trading.core.numbers import fmt
from trading.models import Event

from ..commands import pending_kinds
from .common import engine_summary
from .state import ViewState

OK_WITHIN = timedelta(minutes=5)


@dataclass(frozen=True)
class AccountStatus:
    account: ExchangeAccount
    state: str  # ok | blocked | error | disabled | unknown
    label: str
    headroom: str
    markets_stale: bool
    has_credentials: bool


def account_state(account: ExchangeAccount, now: datetime) -> tuple[str, str]:
    if not account.enabled:
        return "disabled", "Disabled"
    if account.entries_blocked_reason:
        return "blocked", "Entries blocked"
    if account.venue == Venue.PAPER:
        return "ok", "Connected (built-in paper)"
    if account.last_ok_at and now - account.last_ok_at <= OK_WITHIN:
        return "ok", "Connected"
    if account.last_error:
        return "error", "Error"
    return "unknown", "No recent call"


def panel(view: ViewState) -> dict:
    cfg = config_service.current()
    stale_after = timedelta(seconds=cfg.exchange.precision_stale_after_sec)
    accounts = []
    for account in ExchangeAccount.objects.order_by("label"):
        state, label = account_state(account, view.now)
        synced = account.markets_synced_at
        stale = synced is None or view.now - synced > stale_after
        if account.venue == Venue.PAPER:
            headroom = "not limited (paper)"
        elif account.rate_limit_headroom is None:
            headroom = "not reported yet"
        else:
            headroom = f"{fmt(account.rate_limit_headroom, 2)} orders now"
        # Only whether credentials are set: their values never leave the engine.
        has_credentials = bool(account.api_key and account.api_secret)
        accounts.append(AccountStatus(account, state, label, headroom, stale, has_credentials))
    day = Event.objects.filter(
        category=Event.Category.WEBHOOK, created_at__gte=view.now - timedelta(hours=24)
    )
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return {
        "accounts": accounts,
        "engine": engine_summary(view.now),
        "webhooks_24h": day.count(),
        "webhook_rejects_24h": day.exclude(severity__in=(Event.Severity.DEBUG, Event.Severity.INFO)).count(),
        "key_source": settings.FIELD_ENCRYPTION_KEY_SOURCE,
        "channel_layer": "Redis" if "Redis" in layer else "in-memory (single process)",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "config_version": config_service.current_version(),
        "refresh_pending": "refresh_markets" in pending_kinds(),
        "can_act": view.can_act,
    }
