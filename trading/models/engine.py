"""Engine status, the stored configuration document and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EngineState(models.Model):
    """A single row (pk=1): what the engine loop is doing, for health checks and the console."""

    class Status(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        ERROR = "error", "Error"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STOPPED)
    paused = models.BooleanField(default=False)  # operator's choice; survives restarts
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=100, blank=True)  # host:pid of the lock holder
    last_error = models.CharField(max_length=500, blank=True)
    config_version = models.PositiveIntegerField(default=0)
    namespace = models.CharField(max_length=8, blank=True)  # client-order-id prefix of this install
    last_webhook_at = models.DateTimeField(null=True, blank=True)
    # Ticks the scheduler skipped since the engine started (the previous one still running);
    # written with the heartbeat, never per skip.
    skipped_ticks = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"engine {self.status}"


class EngineLease(models.Model):
    """The fencing token (pk=1). Every engine that takes the lock bumps `epoch`; every write that can
    lead to an order checks it in the same transaction, so an engine that lost its lock cannot act.

    The advisory lock (or lock file) says who *should* run; the epoch makes sure a stale engine
    that has not noticed yet fails instead of trading.
    """

    epoch = models.PositiveBigIntegerField(default=0)
    holder = models.CharField(max_length=100, blank=True)  # host:pid of the engine holding `epoch`
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"lease epoch {self.epoch} ({self.holder})"


class ConfigDocument(models.Model):
    """The validated configuration (pk=1), mirrored to <data dir>/config.json."""

    document = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"config v{self.version}"


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=8, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)  # sha256 of the token; the token is shown once
    readonly = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.prefix}… ({'read-only' if self.readonly else 'read-write'})"
