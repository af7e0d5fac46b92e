"""Secrets at rest: masking for display, and the start-up check that the encryption key is right."""

from __future__ import annotations

from django.conf import settings

CANARY_TEXT = "tv-engine-canary-v1"


class WrongEncryptionKey(RuntimeError):
    pass


def mask(secret: str, visible: int = 6) -> str:
    """`****A4B19K`: only the last characters, never the whole secret."""
    if not secret:
        return ""
    if len(secret) <= visible + 2:
        return "****"
    return "****" + secret[-visible:]


def check_canary() -> str:
    """Create the canary on first start; afterwards it must decrypt. Returns the key's source."""
    from .models import EncryptionCanary

    row = EncryptionCanary.objects.filter(pk=1).first()
    if row is None:
        EncryptionCanary.objects.create(pk=1, value=CANARY_TEXT)
    elif row.value != CANARY_TEXT:
        raise WrongEncryptionKey(
            "the field-encryption key in use "
            f"(from {settings.FIELD_ENCRYPTION_KEY_SOURCE}) cannot decrypt the stored secrets; "
            "restore the original key (FIELD_ENCRYPTION_KEY or <data dir>/field_encryption_key)"
        )
    return settings.FIELD_ENCRYPTION_KEY_SOURCE
