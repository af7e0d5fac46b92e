"""Orders the engine sent (or is about to send) and the trades its closes realised."""

from __future__ import annotations

from django.db import models

from .fields import money_field, price_field, qty_field


class OrderState(models.TextChoices):
    # Waiting in the account's order queue (rate limits; closes go first). Never sent yet.
    QUEUED = "queued", "Queued"
    # Written (committed) BEFORE the request goes out: after a crash, a SUBMITTING order is
    # looked up by its client id before anything is re-sent.
    SUBMITTING = "submitting", "Submitting"
    OPEN = "open", "Open"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLING = "cancelling", "Cancelling"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    BLOCKED = "blocked", "Blocked by pre-flight"  # never sent: precision/minimum rules


LIVE_ORDER_STATES = [
    OrderState.QUEUED,  # not sent yet, but it already claims its quantity (no second close of it)
    OrderState.SUBMITTING,
    OrderState.OPEN,
    OrderState.PARTIALLY_FILLED,
    OrderState.CANCELLING,
]


class Order(models.Model):
    client_order_id = models.CharField(max_length=40, unique=True)
    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="orders")
    group = models.ForeignKey("trading.PositionGroup", on_delete=models.CASCADE, related_name="orders")
    leg = models.ForeignKey(
        "trading.DcaLeg", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    purpose = models.CharField(max_length=8)  # core Purpose value
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4)  # buy | sell
    type = models.CharField(max_length=8)  # market | limit
    price = price_field(null=True, blank=True)
    qty = qty_field()
    filled_qty = qty_field()
    avg_fill_price = price_field(null=True, blank=True)
    fee_quote = money_field()
    # For close orders: how much of each leg this order closes ({leg_id: qty}), so a fill can be
    # booked against the right legs.
    allocations = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.QUEUED)
    exchange_order_id = models.CharField(max_length=80, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    # The engine lease (EngineLease.epoch) under which the row was written: the insert is fenced.
    lease_epoch = models.PositiveBigIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=0)  # requests made (retries after timeouts)
    retry_at = models.DateTimeField(null=True, blank=True)  # backoff after a temporary failure
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["group", "purpose"])]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.qty} {self.symbol}"


class Trade(models.Model):
    """A realised close: a leg's TP, an exit, a reduce, a risk close. PnL net of both fees."""

    group = models.ForeignKey("trading.PositionGroup", on_delete=models.CASCADE, related_name="trades")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL)
    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.PROTECT)
    symbol = models.CharField(max_length=40)
    timeframe = models.CharField(max_length=8)
    side = models.CharField(max_length=5)
    reason = models.CharField(max_length=20)  # tp_leg | tp_group | exit | reduce | reverse | risk | manual
    qty = qty_field()
    entry_price = price_field()
    exit_price = price_field()
    realized_pnl = money_field()
    fees = money_field()
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["-closed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.symbol} {self.reason} {self.realized_pnl}"
