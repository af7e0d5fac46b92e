"""The paper exchange's durable state: last prices, balances and orders, per ExchangeAccount.

Imported by exchanges/models.py (so the app registers them); the FK uses a string reference
to avoid a circular import. Timestamps come from the exchange's injected clock, not auto_now,
so tests control time.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from trading.core.types import OrderSide

from .core.adapter import OrderStatus, OrderType

_AMOUNT = {"max_digits": 30, "decimal_places": 12}


class PaperPrice(models.Model):
    """The last price the paper exchange knows for a symbol."""

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="paper_prices"
    )
    symbol = models.CharField(max_length=40)
    price = models.DecimalField(**_AMOUNT)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="uniq_paper_price")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price}"


class PaperBalance(models.Model):
    """One asset's balance; `locked` is what resting orders hold."""

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="paper_balances"
    )
    asset = models.CharField(max_length=20)
    free = models.DecimalField(default=Decimal(0), **_AMOUNT)
    locked = models.DecimalField(default=Decimal(0), **_AMOUNT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "asset"], name="uniq_paper_balance")]

    def __str__(self) -> str:
        return f"{self.asset} free {self.free} locked {self.locked}"


class PaperOrder(models.Model):
    """One simulated order. `filled_quote` and `locked` are bookkeeping the report does not show."""

    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="paper_orders"
    )
    client_order_id = models.CharField(max_length=64)
    exchange_order_id = models.CharField(max_length=20, db_index=True)  # "P000123"
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4, choices=[(s.value, s.value) for s in OrderSide])
    type = models.CharField(max_length=8, choices=[(t.value, t.value) for t in OrderType])
    status = models.CharField(max_length=12, choices=[(s.value, s.value) for s in OrderStatus])
    qty = models.DecimalField(**_AMOUNT)
    price = models.DecimalField(null=True, blank=True, **_AMOUNT)  # limit price; None for market
    filled_qty = models.DecimalField(default=Decimal(0), **_AMOUNT)
    avg_fill_price = models.DecimalField(null=True, blank=True, **_AMOUNT)
    fee_quote = models.DecimalField(default=Decimal(0), **_AMOUNT)
    # Sum of fill notionals, kept exactly so the average price does not drift over partial fills.
    filled_quote = models.DecimalField(default=Decimal(0), **_AMOUNT)
    # Funds this order holds locked: quote for a buy, base for a sell; 0 once done.
    locked = models.DecimalField(default=Decimal(0), **_AMOUNT)
    # A price since placement did not reach the limit: the order rests in the book, and a crossing
    # price fills it at its limit (maker). False while it is still a taker, whose every fill takes
    # the current price clamped by the limit (see exchanges/core/paper_matching.py). Rows written
    # before this column existed were all treated as resting: the default keeps them so.
    rested = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "client_order_id"], name="uniq_paper_client_order_id")
        ]
        indexes = [models.Index(fields=["account", "status", "symbol"], name="paper_order_open_idx")]

    def __str__(self) -> str:
        return f"{self.exchange_order_id} {self.side} {self.qty} {self.symbol} {self.status}"
