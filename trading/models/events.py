"""Every decision the engine (or the webhook) makes, as a row the console and API can filter."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    class Category(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SIGNAL = "signal", "Signal"
        ORDER = "order", "Order"
        PRECISION = "precision", "Precision"
        RISK = "risk", "Risk"
        ENGINE = "engine", "Engine"
        ERROR = "error", "Error"

    class Severity(models.TextChoices):
        DEBUG = "debug", "Debug"
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"
        CRITICAL = "critical", "Critical"

    created_at = models.DateTimeField(db_index=True)
    category = models.CharField(max_length=10, choices=Category.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    symbol = models.CharField(max_length=40, blank=True)
    timeframe = models.CharField(max_length=8, blank=True)
    group_id_ref = models.BigIntegerField(null=True, blank=True, db_column="group_id")
    signal_id_ref = models.BigIntegerField(null=True, blank=True, db_column="signal_id")
    message = models.CharField(max_length=500)
    context = models.JSONField(default=dict, blank=True)
    acknowledged = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["category", "severity"]), models.Index(fields=["symbol"])]

    def __str__(self) -> str:
        return f"[{self.category}/{self.severity}] {self.message}"
