"""API tokens: random, shown once, stored only as a sha256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser

from trading.models import ApiToken

PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: AbstractBaseUser, readonly: bool, now: datetime | None = None) -> str:
    """Create a token for `user` and return it in plain text; only its hash is kept."""
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        prefix=token[:PREFIX_LENGTH],
        token_hash=hash_token(token),
        readonly=readonly,
        created_at=now or datetime.now(UTC),
    )
    return token


def verify(token: str, now: datetime | None = None) -> ApiToken | None:
    """The active user's token matching `token`, or None. Records its use at most once a minute."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    found = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
    if found is None or not found.user.is_active:
        return None
    when = now or datetime.now(UTC)
    if found.last_used_at is None or when - found.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=when)
        found.last_used_at = when
    return found
