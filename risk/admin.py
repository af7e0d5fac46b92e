from django.contrib import admin

from .models import RiskAction


@admin.register(RiskAction)
class RiskActionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "loser_group",
        "action",
        "outcome",
        "required_usd",
        "covered_usd",
        "net_usd",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the audit trail of what the risk engine did is the engine's
