"""Bearer-token authentication; a read-only token may only read."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer

from trading.models import ApiToken

from . import tokens

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. Unknown token → 401; read-only token on a write → 403."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.verify(token.strip())
        if found is None:
            return None
        if found.readonly and request.method not in READ_METHODS:
            raise HttpError(403, "read-only token")
        return found


def token_of(request: HttpRequest) -> ApiToken:
    """The token that authenticated this request (set by ninja as `request.auth`)."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken):  # only reachable if a route forgot its auth
        raise HttpError(401, "Unauthorized")
    return auth
