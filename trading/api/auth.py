"""Bearer-token authentication; a read-only token may only read."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from dashboard import ratelimit
from trading.models import ApiToken

from . import tokens

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`. Unknown token → 401; read-only token on a write → 403; 429 while
    the address is slowed for too many unknown tokens."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        # Failed tokens are counted per address; while an address is slowed a token is refused before
        # it is looked up, so guessing is bounded however many requests arrive (dashboard.ratelimit).
        wait = ratelimit.token_retry_after(request)
        if wait:
            raise HttpError(429, f"too many failed tokens from this address; retry in {wait} s")
        found = tokens.verify(token.strip())
        if found is None:
            ratelimit.token_failed(request)
            return None
        if found.readonly and request.method not in READ_METHODS:
            raise HttpError(403, "read-only token")
        return found


class ConsoleSession(SessionAuth):
    """The console's signed-in session may read (its chart island fetches this JSON); a write still
    needs a token, and the console itself writes through its own views and commands."""

    def authenticate(self, request: HttpRequest, key: str | None) -> object | None:
        user = getattr(request, "user", None)
        if request.method in READ_METHODS and user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def token_of(request: HttpRequest) -> ApiToken:
    """The token that authenticated this request (set by ninja as `request.auth`)."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken):  # only reachable if a route forgot its auth
        raise HttpError(401, "Unauthorized")
    return auth
