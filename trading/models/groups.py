"""Position groups → pyramids → DCA legs."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from .fields import money_field, percent_field, price_field, qty_field


class GroupStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"  # opened, first orders not yet accepted
    LIVE = "live", "Live"  # orders resting, nothing filled
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    ACTIVE = "active", "Active"  # every leg of every pyramid filled
    CLOSING = "closing", "Closing"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = [s for s in GroupStatus.values if s != GroupStatus.CLOSED]


class PositionGroup(models.Model):
    """One (account, symbol, timeframe) position from its first accepted signal until fully closed."""

    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="groups")
    symbol = models.CharField(max_length=40)
    timeframe = models.CharField(max_length=8)
    side = models.CharField(max_length=5)  # core Side value
    status = models.CharField(max_length=20, choices=GroupStatus.choices, default=GroupStatus.WAITING)
    tp_mode = models.CharField(max_length=10)  # snapshot of the config at open
    aggregate_tp_percent = percent_field()
    # The webhook's risk.stop_loss, watched by the engine: crossed, the group closes. The latest
    # entry that carries one moves it.
    stop_loss = price_field(null=True, blank=True)
    pyramid_count = models.PositiveSmallIntegerField(default=0)
    realized_pnl = money_field()
    fees_paid = money_field()
    close_reason = models.CharField(max_length=40, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Risk engine hooks (issue: risk engine).
    risk_timer_started_at = models.DateTimeField(null=True, blank=True)
    risk_blocked = models.BooleanField(default=False)
    risk_skip_once = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "timeframe"],
                condition=~Q(status="closed"),
                name="one_open_group_per_market_timeframe",
            )
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.symbol} {self.timeframe} {self.side}"

    @property
    def is_open(self) -> bool:
        return self.status != GroupStatus.CLOSED


class Pyramid(models.Model):
    group = models.ForeignKey(PositionGroup, on_delete=models.CASCADE, related_name="pyramids")
    index = models.PositiveSmallIntegerField()
    signal = models.ForeignKey("trading.Signal", null=True, blank=True, on_delete=models.SET_NULL)
    base_price = price_field()
    size_amount = qty_field()
    size_unit = models.CharField(max_length=5)  # "base" | "quote"
    max_slippage_percent = percent_field(default=Decimal("0.5"))
    # The webhook's risk.take_profit: this pyramid's legs close together at this price.
    take_profit = price_field(null=True, blank=True)
    adjustments = models.JSONField(default=list, blank=True)  # pre-flight ladder notes
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["group_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["group", "index"], name="uniq_pyramid_index"),
            # A signal opens at most one pyramid, whatever happens to the engine in between.
            models.UniqueConstraint(
                fields=["signal"], condition=Q(signal__isnull=False), name="one_pyramid_per_signal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} P{self.index}"


class LegState(models.TextChoices):
    PENDING = "pending", "Pending"  # planned, order not yet accepted
    OPEN = "open", "Open"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    HIT_TP = "hit_tp", "Hit TP"
    CLOSED = "closed", "Closed"  # closed by exit/reduce/risk rather than its own TP
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped (below minimum)"


class DcaLeg(models.Model):
    pyramid = models.ForeignKey(Pyramid, on_delete=models.CASCADE, related_name="legs")
    group = models.ForeignKey(PositionGroup, on_delete=models.CASCADE, related_name="legs")
    index = models.PositiveSmallIntegerField()
    gap_percent = percent_field()
    weight_percent = percent_field()
    tp_percent = percent_field()
    price = price_field()  # rounded limit price
    qty = qty_field()  # ordered quantity
    filled_qty = qty_field()
    avg_fill_price = price_field(null=True, blank=True)
    closed_qty = qty_field()  # filled quantity since closed (TP, exit, reduce, risk)
    entry_fees = money_field()
    realized_pnl = money_field()
    tp_price = price_field(null=True, blank=True)
    state = models.CharField(max_length=20, choices=LegState.choices, default=LegState.PENDING)
    merged_into = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pyramid_id", "index"]
        constraints = [models.UniqueConstraint(fields=["pyramid", "index"], name="uniq_leg_index")]

    def __str__(self) -> str:
        return f"{self.pyramid} DCA{self.index}"

    @property
    def label(self) -> str:
        return f"DCA{self.index}"

    @property
    def open_qty(self) -> Decimal:
        return self.filled_qty - self.closed_qty
