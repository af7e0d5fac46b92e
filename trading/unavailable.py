"""503 with a JSON reason and Retry-After when the database is out of reach, instead of a 500 page.

Unreachable, restarting, or every pooled connection busy for longer than `DB_POOL_TIMEOUT`: a
passing condition, so the caller is told to retry. TradingView re-sends a webhook answered with a
5xx (after 5 s, up to three times); the inbox's duplicate rules make a re-send of one that did get
through harmless. Any other database error is a bug and stays a 500.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from psycopg_pool import PoolTimeout

log = logging.getLogger(__name__)

# Django re-raises psycopg's errors (PoolTimeout is an OperationalError) as these two.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5  # TradingView's own re-send delay
# The same for every cause: an anonymous caller learns nothing of hosts, ports or users; the log does.
REASON = "database unavailable, retry later"


def log_unavailable(method: str, path: str, exc: Exception) -> None:
    """The cause goes to the log only (the caller's answer says no more than `REASON`)."""
    if isinstance(exc.__cause__, PoolTimeout):
        # The pool waits out its timeout whether the database is down (psycopg.pool logs each failed
        # connection attempt) or every connection is busy (DB_POOL_MAX_SIZE too small for the load).
        detail = "no pooled connection within DB_POOL_TIMEOUT: database down, or pool exhausted"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    log.error("503 for %s %s: %s", method, path, detail)


def respond(body: dict, exc: Exception, request: HttpRequest) -> JsonResponse:
    log_unavailable(request.method or "", request.path, exc)
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_response(request: HttpRequest, exc: Exception) -> JsonResponse:
    """A django-ninja exception handler: the API's error shape is `{"detail": …}`."""
    return respond({"detail": REASON}, exc, request)
