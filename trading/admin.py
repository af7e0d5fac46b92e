"""Raw data for the operator, read only (only the engine loop writes trading state), and the config
document, edited through the config service like the API and the console."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from . import config_service
from .config_admin_form import ConfigDocumentForm
from .config_schema import ConfigInvalid
from .config_service import ConfigConflict
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
class ConfigDocumentAdmin(admin.ModelAdmin):
    """The config as JSON, secrets masked; a save goes through the config service (same validation
    as the API and the console, an audit event, the file rewritten) and never straight to the row."""

    form = ConfigDocumentForm
    list_display = ("version", "updated_at", "mode", "instance_name")
    fields = ("version", "updated_at", "config_json", "based_on")
    readonly_fields = ("version", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one document (pk=1), created at first start

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="mode")
    def mode(self, obj: ConfigDocument) -> str:
        return str((obj.document.get("app") or {}).get("mode", ""))

    @admin.display(description="instance")
    def instance_name(self, obj: ConfigDocument) -> str:
        return str((obj.document.get("app") or {}).get("instance_name", ""))

    def save_model(self, request: HttpRequest, obj: ConfigDocument, form: Any, change: bool) -> None:
        source = f"Django admin by {request.user.get_username()}"
        try:
            config_service.update(
                form.cleaned_data["config_json"],
                source=source,
                expected_version=form.cleaned_data["based_on"],
            )
        except (ConfigConflict, ConfigInvalid) as exc:
            # Lost a race after the form validated: nothing was saved; say so instead of "changed".
            request._config_not_saved = True  # type: ignore[attr-defined]
            messages.error(request, f"Not saved: {exc}")
        obj.refresh_from_db()

    def message_user(
        self, request: HttpRequest, message: str, level: int = messages.INFO, *args: Any, **kwargs: Any
    ) -> None:
        if level == messages.SUCCESS and getattr(request, "_config_not_saved", False):
            return
        super().message_user(request, message, level, *args, **kwargs)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "readonly", "created_at", "last_used_at")
    fields = ("prefix", "user", "readonly", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued by `manage.py create_api_token` (shown once)
