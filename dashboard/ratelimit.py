"""Login throttling: failed attempts counted per (address, username) and per address in the cache.

`LOGIN_RATE_LIMIT_ATTEMPTS` failures for one username from one address, or
`LOGIN_RATE_LIMIT_IP_ATTEMPTS` from one address, within `LOGIN_RATE_LIMIT_WINDOW_SEC` lock further
attempts out until the window passes. A successful login clears the pair's count.
Counts live in Django's cache: the default in-process cache suits the single-process `run`; give
several web processes a shared cache (`CACHES`, e.g. Redis) so they count together.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "LOGIN_RATE_LIMIT_ATTEMPTS", 5),
        getattr(settings, "LOGIN_RATE_LIMIT_IP_ATTEMPTS", 20),
        getattr(settings, "LOGIN_RATE_LIMIT_WINDOW_SEC", 300),
    )


def client_address(request: HttpRequest) -> str:
    # Behind a proxy, SECURE_PROXY_SSL_HEADER's proxy should also set REMOTE_ADDR (e.g. uvicorn/daphne
    # --proxy-headers); X-Forwarded-For is not trusted here because anyone can send it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _keys(request: HttpRequest, username: str) -> tuple[str, str]:
    address = client_address(request)
    pair = hashlib.sha256(f"{address}\0{username.strip().lower()}".encode()).hexdigest()[:32]
    return f"login-fail:pair:{pair}", f"login-fail:ip:{address}"


def locked_out(request: HttpRequest, username: str) -> bool:
    per_user, per_ip, _ = _limits()
    pair, ip = _keys(request, username)
    return cache.get(pair, 0) >= per_user or cache.get(ip, 0) >= per_ip


def failed(request: HttpRequest, username: str) -> None:
    _, _, window = _limits()
    for key in _keys(request, username):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.set(key, 1, timeout=window)


def succeeded(request: HttpRequest, username: str) -> None:
    cache.delete(_keys(request, username)[0])
