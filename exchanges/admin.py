"""Accounts and their market rules. Secrets are never shown here; add accounts with `add_account`."""

from __future__ import annotations

from django.contrib import admin

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
    readonly_fields = ("venue", "last_ok_at", "last_error", "markets_synced_at")


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

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # refreshed from the exchange by the engine
