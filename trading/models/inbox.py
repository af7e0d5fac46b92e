"""The durable inbox (webhook signals), the waiting queue and the operator command table."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .fields import money_field, price_field, qty_field


class SignalStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # in the inbox, not yet applied
    APPLIED = "applied", "Applied"
    QUEUED = "queued", "Queued"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"
    DUPLICATE = "duplicate", "Duplicate"


class Signal(models.Model):
    received_at = models.DateTimeField(db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    payload = models.JSONField()  # secret redacted
    # Same trade id + timestamp + intent delivered twice: the unique index answers "duplicate".
    dedupe_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    exchange = models.CharField(max_length=20, blank=True)
    raw_symbol = models.CharField(max_length=60)
    symbol = models.CharField(max_length=40, blank=True)
    timeframe = models.CharField(max_length=8)
    intent = models.CharField(max_length=10)
    side = models.CharField(max_length=5, blank=True)
    entry_price = price_field(null=True, blank=True)
    order_size = qty_field(null=True, blank=True)
    size_type = models.CharField(max_length=10, default="quote")
    max_slippage_percent = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    prev_market_position = models.CharField(max_length=10, blank=True)
    trade_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=SignalStatus.choices, default=SignalStatus.RECEIVED)
    reason = models.CharField(max_length=300, blank=True)
    group = models.ForeignKey(
        "trading.PositionGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
    )
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self) -> str:
        return f"signal #{self.pk} {self.intent} {self.raw_symbol} {self.timeframe}: {self.status}"


class PayloadClaim(models.Model):
    """When a payload (by fingerprint) was last accepted: the identical-payload window counts from here.

    The webhook takes the claim with one conditional upsert in the transaction that stores the signal
    (trading/webhooks.py `_claim`), so the database, not a read-then-insert, decides which of many
    concurrent copies is the original. One small row per distinct payload, kept like the inbox itself.
    """

    fingerprint = models.CharField(max_length=64, primary_key=True)
    claimed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"payload {self.fingerprint[:12]} claimed at {self.claimed_at:%Y-%m-%d %H:%M:%S}"


class QueueEntry(models.Model):
    """A waiting entry: the pool was full, the market rules were stale, or the opposite side is live."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="queue_entries")
    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.CASCADE)
    symbol = models.CharField(max_length=40)
    timeframe = models.CharField(max_length=8)
    side = models.CharField(max_length=5)
    entry_price = price_field()
    size_amount = qty_field()
    size_unit = models.CharField(max_length=5)
    expected_profit = money_field()
    replacement_count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=20)  # pool_full | precision | opposite_side
    queued_at = models.DateTimeField()
    # Set by the operator's "Promote": the entry goes to the head of the line.
    promoted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["queued_at", "id"]
        verbose_name_plural = "queue entries"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "timeframe"], name="one_queue_entry_per_market"
            )
        ]

    def __str__(self) -> str:
        return f"queued {self.symbol} {self.timeframe} {self.side}"


class CommandStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"  # claimed by the engine, applied outside a transaction
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class Command(models.Model):
    """An operator action, applied by the engine in id order."""

    kind = models.CharField(max_length=40)
    args = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    result = models.CharField(max_length=500, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self) -> str:
        return f"command #{self.pk} {self.kind}: {self.status}"
