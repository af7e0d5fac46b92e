"""Exchange accounts and their cached market rules. Paper exchange state lives in paper_models."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from encrypted_model_fields.fields import EncryptedCharField

from trading.core.types import MarketRules

from .paper_models import PaperBalance, PaperOrder, PaperPrice  # noqa: F401 - registered models

PRICE = {"max_digits": 30, "decimal_places": 12}


class Venue(models.TextChoices):
    PAPER = "paper", "Paper (built-in)"
    BINANCE = "binance", "Binance"
    BYBIT = "bybit", "Bybit"
    OKX = "okx", "OKX"
    KUCOIN = "kucoin", "KuCoin"
    MEXC = "mexc", "MEXC"
    GATE = "gate", "Gate.io"


class MarketType(models.TextChoices):
    SPOT = "spot", "Spot"
    SWAP = "swap", "USDT-margined perpetual"


class RateLimitMode(models.TextChoices):
    EXCHANGE = "exchange", "From the exchange's published limits"
    CONSERVATIVE = "conservative", "Conservative (half of the published limits)"


class ExchangeAccount(models.Model):
    label = models.SlugField(max_length=40, unique=True)
    venue = models.CharField(max_length=16, choices=Venue.choices, default=Venue.PAPER)
    market_type = models.CharField(max_length=8, choices=MarketType.choices, default=MarketType.SPOT)
    enabled = models.BooleanField(default=True)
    # Secrets are encrypted at rest and never leave the engine unmasked (see exchanges/secrets.py).
    api_key = EncryptedCharField(max_length=200, blank=True, default="")
    api_secret = EncryptedCharField(max_length=300, blank=True, default="")
    passphrase = EncryptedCharField(max_length=200, blank=True, default="")
    sandbox = models.BooleanField(default=False, help_text="testnet: Binance and Bybit only")
    rate_limit_mode = models.CharField(
        max_length=12, choices=RateLimitMode.choices, default=RateLimitMode.EXCHANGE
    )
    # Orders the account could send right now within its order-rate limit (status page).
    rate_limit_headroom = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    # Set when auth fails or funds run out: no new entries until the operator clears it.
    entries_blocked_reason = models.CharField(max_length=200, blank=True)
    markets_synced_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.venue})"

    @property
    def real_money(self) -> bool:
        """Orders here move real funds: neither the paper exchange nor a testnet or demo account."""
        return self.venue != Venue.PAPER and not self.sandbox


class EncryptionCanary(models.Model):
    """A known value encrypted with the current key: a wrong key silently yields ciphertext, so
    start-up decrypts this and refuses to run if it does not read back."""

    value = EncryptedCharField(max_length=100)

    def __str__(self) -> str:
        return "encryption canary"


class MarketRule(models.Model):
    """Precision filters of one market, as last loaded from the venue."""

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="market_rules")
    symbol = models.CharField(max_length=40)  # unified "BTC/USDT"
    exchange_symbol = models.CharField(max_length=40)  # venue spelling "BTCUSDT"
    tick_size = models.DecimalField(**PRICE)
    step_size = models.DecimalField(**PRICE)
    min_qty = models.DecimalField(default=Decimal(0), **PRICE)
    min_notional = models.DecimalField(default=Decimal(0), **PRICE)
    max_qty = models.DecimalField(null=True, blank=True, **PRICE)
    active = models.BooleanField(default=True)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="uniq_market_rule")]
        indexes = [models.Index(fields=["account", "exchange_symbol"])]

    def __str__(self) -> str:
        return f"{self.symbol} tick {self.tick_size} step {self.step_size}"

    def to_rules(self) -> MarketRules:
        return MarketRules(
            symbol=self.symbol,
            tick_size=self.tick_size.normalize(),
            step_size=self.step_size.normalize(),
            min_qty=self.min_qty.normalize(),
            min_notional=self.min_notional.normalize(),
            max_qty=self.max_qty.normalize() if self.max_qty is not None else None,
        )


class LastPrice(models.Model):
    """The engine's last price of a live venue's market, so web pages can mark positions without
    calling the exchange themselves (paper prices live in PaperPrice)."""

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="last_prices")
    symbol = models.CharField(max_length=40)
    price = models.DecimalField(**PRICE)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="uniq_last_price")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price}"
