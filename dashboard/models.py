"""Console-side state only: per-user preferences. Trading state is never written from here."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    class Theme(models.TextChoices):
        DARK = "dark", "Dark"
        LIGHT = "light", "Light"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_pref"
    )
    theme = models.CharField(max_length=5, choices=Theme.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Superusers hold it implicitly; grant it to make another account a console admin.
        permissions = [("act", "Can send trading commands from the console")]

    def __str__(self) -> str:
        return f"{self.user} prefers {self.theme}"


class AuthFailure(models.Model):
    """One failed sign-in or API token, kept for the throttle window (`dashboard.ratelimit`).

    A table, not Django's per-process cache, so every web process counts the same failures.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", "Sign-in"
        TOKEN = "token", "API token"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    address = models.CharField(max_length=64)
    # A keyed hash of the typed username, never the text: people type their password in that box.
    username = models.CharField(max_length=64, blank=True)
    # The trusted-device cookie's id when the attempt came with one (counted apart from the address).
    device = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "address", "at"], name="authfail_address"),
            models.Index(fields=["device", "at"], name="authfail_device"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} failure from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"
