"""Raw data for the operator, read only: only the engine loop writes trading state."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    ApiToken,
    Command,
    ConfigDocument,
    DcaLeg,
    EngineState,
    Event,
    Order,
    PositionGroup,
    Pyramid,
    QueueEntry,
    Signal,
    Trade,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PositionGroup)
class PositionGroupAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "symbol",
        "timeframe",
        "side",
        "status",
        "pyramid_count",
        "realized_pnl",
        "opened_at",
        "closed_at",
    )
    list_filter = ("status", "side", "timeframe")
    search_fields = ("symbol",)


@admin.register(Pyramid)
class PyramidAdmin(ReadOnlyAdmin):
    list_display = ("id", "group", "index", "base_price", "size_amount", "size_unit", "created_at")


@admin.register(DcaLeg)
class DcaLegAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "pyramid",
        "index",
        "state",
        "price",
        "qty",
        "filled_qty",
        "avg_fill_price",
        "tp_price",
        "closed_qty",
    )
    list_filter = ("state",)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "client_order_id",
        "purpose",
        "symbol",
        "side",
        "type",
        "qty",
        "price",
        "filled_qty",
        "state",
        "created_at",
    )
    list_filter = ("state", "purpose", "side")
    search_fields = ("client_order_id", "exchange_order_id", "symbol")


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "symbol",
        "reason",
        "qty",
        "entry_price",
        "exit_price",
        "realized_pnl",
        "fees",
        "closed_at",
    )
    list_filter = ("reason",)


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ("id", "received_at", "intent", "side", "raw_symbol", "timeframe", "status", "reason")
    list_filter = ("status", "intent")
    search_fields = ("raw_symbol", "trade_id", "reason")


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "symbol",
        "timeframe",
        "side",
        "entry_price",
        "replacement_count",
        "reason",
        "queued_at",
    )


@admin.register(Command)
class CommandAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "result", "created_by", "created_at", "applied_at")
    list_filter = ("status", "kind")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "category", "severity", "symbol", "message")
    list_filter = ("category", "severity")
    search_fields = ("message", "symbol")


@admin.register(EngineState)
class EngineStateAdmin(ReadOnlyAdmin):
    list_display = ("status", "paused", "heartbeat_at", "owner", "last_webhook_at", "last_error")


@admin.register(ConfigDocument)
class ConfigDocumentAdmin(ReadOnlyAdmin):
    list_display = ("version", "updated_at")
    exclude = ("document",)  # holds the webhook secret; use GET /api/v1/config (masked)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "readonly", "created_at", "last_used_at")
    fields = ("prefix", "user", "readonly", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued by `manage.py create_api_token` (shown once)
