"""The thinned price history the group chart draws (paper and live markets alike)."""

from __future__ import annotations

from django.db import models

from .fields import price_field


class PriceSample(models.Model):
    """A price the engine received for one market, kept at most once per `SAMPLE_EVERY` per market
    (trading/core/price_history.py) and pruned with the events. Written only by the engine."""

    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=40)
    taken_at = models.DateTimeField()
    price = price_field()

    class Meta:
        indexes = [
            models.Index(fields=["account", "symbol", "taken_at"], name="price_sample_market_time"),
            models.Index(fields=["taken_at"], name="price_sample_time"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.taken_at:%Y-%m-%d %H:%M:%S} {self.price}"


class CachedCandle(models.Model):
    """A live venue's candle of a market with an open group, fetched by the engine every few
    minutes (trading/engine/price_history.py) for the group chart; pruned with the price samples.
    The web never asks a venue: it reads these."""

    account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="+")
    symbol = models.CharField(max_length=40)
    timeframe = models.CharField(max_length=8)
    opened_at = models.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "timeframe", "opened_at"], name="uniq_cached_candle"
            )
        ]
        indexes = [models.Index(fields=["opened_at"], name="cached_candle_time")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} {self.opened_at:%Y-%m-%d %H:%M} {self.close}"
