"""Equity snapshots: the account's PnL-based equity over time, recorded and compacted by the engine."""

from __future__ import annotations

from django.db import models

from .fields import money_field


class EquitySnapshot(models.Model):
    """Cumulative realised PnL (net of fees) and total = realised + unrealised, of one account at one
    moment. Written only by the engine (every `analytics.snapshot_interval_sec` and at each group
    close) and by `manage.py rebuild_equity`."""

    class Source(models.TextChoices):
        INTERVAL = "interval", "Interval"
        CLOSE = "close", "Group close"
        REBUILT = "rebuilt", "Rebuilt from trades"

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="equity_snapshots"
    )
    taken_at = models.DateTimeField()
    realised = money_field()
    total = money_field()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.INTERVAL)

    class Meta:
        ordering = ["account_id", "taken_at", "id"]
        indexes = [models.Index(fields=["account", "taken_at"]), models.Index(fields=["taken_at"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.taken_at:%Y-%m-%d %H:%M} {self.total}"
