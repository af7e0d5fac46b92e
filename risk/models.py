"""What the risk engine did: one RiskAction per executed plan, and its running status."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class RiskAction(models.Model):
    """All closes of one risk cycle: the loser, its winners, quantities and realised USD each side."""

    class Outcome(models.TextChoices):
        EXECUTED = "executed", "Executed"
        PARTIAL = "partial", "Partial (some closes failed)"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(db_index=True)
    loser_group = models.ForeignKey(
        "trading.PositionGroup", on_delete=models.PROTECT, related_name="risk_losses"
    )
    action = models.CharField(max_length=10)  # close | partial (the plan's kind)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    required_usd = models.DecimalField(max_digits=30, decimal_places=12)
    covered_usd = models.DecimalField(max_digits=30, decimal_places=12)
    net_usd = models.DecimalField(max_digits=30, decimal_places=12, default=Decimal(0))
    forced = models.BooleanField(default=False)
    # [{"group_id", "role": loser|winner, "fraction", "full_close", "qty", "planned_usd", "order", "sent", "error"}]
    closes = models.JSONField(default=list)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"risk action #{self.pk} on group #{self.loser_group_id}: {self.outcome}"


class RiskEngineState(models.Model):
    """A single row: Active (acted in the last cycle) / Idle / Blocked, for the console and API."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        IDLE = "idle", "Idle"
        BLOCKED = "blocked", "Blocked"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    reason = models.CharField(max_length=300, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_action_at = models.DateTimeField(null=True, blank=True)
    # The last evaluation as the engine saw it: per-group eligibility and the projected plan.
    # The web side reads this instead of calling exchanges itself.
    report = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"risk engine {self.status}"
