"""Accounts and their market rules. Secrets are never shown here; add accounts with `add_account`.

Only the operator's own switches can be edited (`enabled`, `rate_limit_mode`): everything else on an
account is either its identity (label, venue, market type, testnet — open groups and orders depend
on them) or written by the engine (entries blocked and why, health, market sync; clear a block with
"Clear block" on the status page, which goes through the engine).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import ExchangeAccount, MarketRule


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(admin.ModelAdmin):
    list_display = (
        "label",
        "venue",
        "market_type",
        "enabled",
        "sandbox",
        "last_ok_at",
        "markets_synced_at",
        "entries_blocked_reason",
    )
    fields = (
        "label",
        "venue",
        "market_type",
        "enabled",
        "sandbox",
        "rate_limit_mode",
        "entries_blocked_reason",
        "last_ok_at",
        "last_error",
        "markets_synced_at",
    )
    readonly_fields = (
        "label",
        "venue",
        "market_type",
        "sandbox",
        "entries_blocked_reason",
        "last_ok_at",
        "last_error",
        "markets_synced_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `manage.py add_account` checks the venue and encrypts the credentials

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # its groups, orders and queue entries belong to the engine


@admin.register(MarketRule)
class MarketRuleAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "account",
        "tick_size",
        "step_size",
        "min_qty",
        "min_notional",
        "active",
        "fetched_at",
    )
    list_filter = ("account", "active")
    search_fields = ("symbol", "exchange_symbol")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # refreshed from the exchange by the engine

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
