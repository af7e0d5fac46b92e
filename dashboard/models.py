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
