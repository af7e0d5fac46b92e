"""The configuration sections of running the engine: logging, security, console, analytics, backup.

Pydantic models with defaults, bounds and a description per field, like `config_sections` (the
trading sections and the whole document). No Django here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .config_base import MASK, ConfigPath, IpOrCidr, Section, rule_error

# TradingView's documented webhook sender addresses.
TRADINGVIEW_WEBHOOK_IPS: tuple[str, ...] = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO",
        description="Level of the process log (stderr): messages below it are dropped. LOG_LEVEL in the"
        " environment wins. Events (console, API, event log file) are always kept.",
    )
    file_max_mb: int = Field(
        10, ge=1, le=1024, description="Size at which the event log file (logs/engine.jsonl) rotates, in MB."
    )
    file_backups: int = Field(
        5,
        ge=0,
        le=100,
        description="Rotated event log files kept (engine.jsonl.1, .2, ...); 0 = the file starts over"
        " when full.",
    )
    event_retention_days: int = Field(
        30, ge=1, le=3650, description="Days engine events are kept in the database."
    )


class SecuritySettings(Section):
    webhook_secret: str = Field(
        "",
        description="Shared secret every webhook must carry; empty = not set. Shown masked.",
        json_schema_extra={"rule": "empty, or 8 to 256 characters"},
    )
    max_signal_lag_seconds: int = Field(
        60, ge=0, le=3600, description="Reject signals whose timestamp is older than this; 0 = off."
    )
    duplicate_window_seconds: int = Field(
        30,
        ge=0,
        le=3600,
        description="An identical signal within this window is dropped as a duplicate; 0 = off.",
    )
    hmac_header: str = Field(
        "X-Signature",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]+$",
        json_schema_extra={"rule": "letters, digits and -"},
        description="Header carrying an optional HMAC-SHA256 hex of the raw body, keyed with the webhook "
        "secret, for non-TradingView senders.",
    )
    require_hmac: bool = Field(
        False, description="Reject webhooks without a valid HMAC header (TradingView cannot send one)."
    )
    ip_allowlist_enabled: bool = Field(False, description="Accept webhooks only from ip_allowlist.")
    ip_allowlist: tuple[IpOrCidr, ...] = Field(
        TRADINGVIEW_WEBHOOK_IPS,
        description="Addresses or CIDR ranges allowed to send webhooks; defaults to TradingView's senders.",
        json_schema_extra={"rule": "each an IP address or CIDR range"},
    )
    trust_x_forwarded_for: bool = Field(
        False,
        description="Take the client address from X-Forwarded-For (only behind a trusted proxy): the"
        " right-most entry, the one the proxy appended.",
    )
    allow_webhook_replay: bool = Field(
        False,
        description="Allow a stored webhook to be sent through again (for testing); keep off in production.",
    )

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _secret_shape(cls, secret: str) -> str:
        # Messages here must never echo the value.
        if secret and not 8 <= len(secret) <= 256:
            raise PydanticCustomError("secret_length", "must be empty or 8 to 256 characters long")
        if secret.startswith(MASK):
            raise PydanticCustomError("secret_masked", "is a masked value; send the real secret")
        return secret

    @model_validator(mode="after")
    def _consistent(self) -> SecuritySettings:
        problems: list[tuple[ConfigPath, str]] = []
        if self.require_hmac and not self.webhook_secret:
            problems.append((("require_hmac",), "needs webhook_secret to be set (the HMAC is keyed with it)"))
        if self.ip_allowlist_enabled and not self.ip_allowlist:
            problems.append(
                (("ip_allowlist",), "must list at least one address while ip_allowlist_enabled is on")
            )
        if problems:
            raise rule_error(problems)
        return self


class UiSettings(Section):
    theme: Literal["dark", "light"] = Field("dark", description="Colour theme of the dashboard.")
    realtime_update_ms: int = Field(
        500, ge=100, le=10000, description="Minimum interval between live dashboard updates."
    )
    font_size: Literal["small", "medium", "large"] = Field(
        "medium", description="Text size of the console, on every page and for every user."
    )


class AnalyticsSettings(Section):
    snapshot_interval_sec: int = Field(
        60,
        ge=10,
        le=3600,
        description="How often the engine records each account's equity (realised and realised +"
        " unrealised PnL); it also records one at every realised close (a leg take-profit included). Points older than 7 days are"
        " thinned to one per hour.",
    )
    capital_base_usdt: Decimal = Field(
        Decimal("0"),
        ge=0,
        le=Decimal("1000000000"),
        description="Capital each account's equity curve starts from, for drawdown % and the Sharpe and"
        " Sortino ratios; 0 = exchange.paper_starting_balance_usdt.",
    )


class BackupSettings(Section):
    auto_daily: bool = Field(
        False,
        description="Write one backup a day (config.json, a database snapshot, the logs) into directory;"
        " a day missed while the engine was stopped is made up at its next start.",
    )
    hour_utc: int = Field(
        3, ge=0, le=23, description="Hour of the day (UTC) from which the daily backup is due."
    )
    keep_last: int = Field(
        7,
        ge=1,
        le=365,
        description="Automatic backups kept; older ones are deleted after each new one. Backups made by"
        " hand (manage.py backup, the console's download) are never deleted.",
    )
    directory: str = Field(
        "",
        max_length=500,
        description="Folder of the automatic backups; empty = the folder backups in the data dir; a"
        " relative path is taken inside the data dir.",
    )
