"""Sign-in and API-token throttling, counted in the database so every web process sees the same counts.

The policy, and why (all numbers are settings, see README "Security"):

- **Per (address, username):** `LOGIN_RATE_LIMIT_ATTEMPTS` failures within `LOGIN_RATE_LIMIT_WINDOW_SEC`
  lock that pair until the oldest of them ages out. Failures from other addresses never count.
- **Per address:** past `LOGIN_RATE_LIMIT_IP_ATTEMPTS` failures in the window the address is slowed,
  never locked: one attempt per 1, 2, 4 … seconds, at most `LOGIN_RATE_LIMIT_MAX_DELAY_SEC` apart.
  Behind a reverse proxy every client is one address, so a hard per-address lockout would let
  anyone lock every operator out with made-up usernames; a delay only bounds the guessing rate.
- **Trusted devices:** a successful sign-in leaves a signed, HttpOnly cookie naming the username
  (hashed) for `DEVICE_COOKIE_DAYS`. A sign-in for that username from that browser skips both rules
  above and counts its failures against the device instead (same per-pair cap; past it the browser
  is treated like any other). So an operator who has signed in before is never locked out by someone
  else's failures, even from the same address. Exempting "a username that signed in from this
  address" instead would exempt an attacker behind the same proxy too; the cookie tells them apart.
- **API tokens:** failed bearer tokens count per address under the same per-address rule; while an
  address is slowed, a token is refused with 429 before it is looked up.

Usernames are stored as a keyed hash only (people type their password into the username box), and
rows older than the window are deleted as new failures arrive.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from .models import AuthFailure

DEVICE_COOKIE = "tv_device"
DEVICE_COOKIE_DAYS = 30
_DEVICE_SALT = "dashboard.ratelimit.device"


@dataclass(frozen=True)
class Limits:
    per_pair: int
    per_address: int
    window: timedelta
    max_delay: int


def limits() -> Limits:
    return Limits(
        per_pair=getattr(settings, "LOGIN_RATE_LIMIT_ATTEMPTS", 5),
        per_address=getattr(settings, "LOGIN_RATE_LIMIT_IP_ATTEMPTS", 100),
        window=timedelta(seconds=getattr(settings, "LOGIN_RATE_LIMIT_WINDOW_SEC", 300)),
        max_delay=getattr(settings, "LOGIN_RATE_LIMIT_MAX_DELAY_SEC", 60),
    )


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt as the throttle sees it; `retry_after` > 0 means refuse it for that long."""

    address: str
    user_key: str
    at: datetime
    device: str = ""  # the trusted device it came from, if any
    retry_after: int = 0


def client_address(request: HttpRequest) -> str:
    # Behind a proxy, have the server set REMOTE_ADDR from a header the proxy overwrites (daphne
    # --proxy-headers takes the first X-Forwarded-For entry: the proxy must replace, not append, it).
    # X-Forwarded-For is not read here because any client can send one.
    return (request.META.get("REMOTE_ADDR", "") or "unknown")[:64]


def _user_key(username: str) -> str:
    return salted_hmac(
        "dashboard.ratelimit.username", username.strip().lower(), algorithm="sha256"
    ).hexdigest()


def _until(moment: datetime, now: datetime) -> int:
    return max(0, math.ceil((moment - now).total_seconds()))


def _address_delay(failures: QuerySet[AuthFailure], lim: Limits, now: datetime) -> int:
    """Seconds this address must still wait: 0 under the cap, then 1, 2, 4 … after its last failure."""
    stats = failures.aggregate(count=Count("id"), last=Max("at"))
    excess = stats["count"] - lim.per_address
    if excess < 0 or stats["last"] is None:
        return 0
    return _until(stats["last"] + timedelta(seconds=min(2 ** min(excess, 20), lim.max_delay)), now)


def _trusted_device(request: HttpRequest, user_key: str) -> str:
    try:
        value = signing.loads(
            request.COOKIES.get(DEVICE_COOKIE, ""),
            salt=_DEVICE_SALT,
            max_age=timedelta(days=DEVICE_COOKIE_DAYS),
        )
    except signing.BadSignature:  # also: missing, expired
        return ""
    if not isinstance(value, dict) or value.get("user") != user_key:
        return ""
    return str(value.get("device", ""))[:32]


def login_attempt(request: HttpRequest, username: str, now: datetime | None = None) -> Attempt:
    """Whether this sign-in may be checked now (`retry_after` == 0) and whom to count it against."""
    now = now or datetime.now(UTC)
    lim = limits()
    since = now - lim.window
    attempt = Attempt(address=client_address(request), user_key=_user_key(username), at=now)
    device = _trusted_device(request, attempt.user_key)
    if device:
        own = AuthFailure.objects.filter(kind=AuthFailure.Kind.LOGIN, device=device, at__gte=since)
        if own.count() < lim.per_pair:
            return replace(attempt, device=device)
    untrusted = AuthFailure.objects.filter(
        kind=AuthFailure.Kind.LOGIN, address=attempt.address, device="", at__gte=since
    )
    pair = list(untrusted.filter(username=attempt.user_key).order_by("at").values_list("at", flat=True))
    if len(pair) >= lim.per_pair:
        # Locked until enough of the pair's failures leave the window to fall under the cap.
        return replace(attempt, retry_after=_until(pair[-lim.per_pair] + lim.window, now))
    return replace(attempt, retry_after=_address_delay(untrusted, lim, now))


def failed(attempt: Attempt) -> None:
    """Count a refused sign-in against its device, or else its (address, username) pair and address."""
    AuthFailure.objects.create(
        kind=AuthFailure.Kind.LOGIN,
        address=attempt.address,
        username=attempt.user_key,
        device=attempt.device,
        at=attempt.at,
    )
    _forget_old(attempt.at)


def succeeded(attempt: Attempt, response: HttpResponse) -> None:
    """Clear the pair's and the device's failures, and mark this browser as a trusted device."""
    mine = AuthFailure.objects.filter(kind=AuthFailure.Kind.LOGIN, address=attempt.address, device="")
    mine.filter(username=attempt.user_key).delete()
    if attempt.device:
        AuthFailure.objects.filter(device=attempt.device).delete()
    value = signing.dumps({"user": attempt.user_key, "device": secrets.token_hex(16)}, salt=_DEVICE_SALT)
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
    )


def token_retry_after(request: HttpRequest, now: datetime | None = None) -> int:
    """Seconds before a bearer token from this address may be checked again (0: check it now)."""
    now = now or datetime.now(UTC)
    lim = limits()
    failures = AuthFailure.objects.filter(
        kind=AuthFailure.Kind.TOKEN, address=client_address(request), at__gte=now - lim.window
    )
    return _address_delay(failures, lim, now)


def token_failed(request: HttpRequest, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    AuthFailure.objects.create(kind=AuthFailure.Kind.TOKEN, address=client_address(request), at=now)
    _forget_old(now)


def _forget_old(now: datetime) -> None:
    AuthFailure.objects.filter(at__lt=now - limits().window).delete()
