"""Whether the console has an account anyone can sign in with (the first-run decision's input)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX


def anyone_can_sign_in() -> bool:
    """An active user with a password. API-only users (`create_api_token --create-user`) have none:
    with only those the console is still unreachable, so the first-start page stays open."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exclude(password="")
        .exists()
    )
