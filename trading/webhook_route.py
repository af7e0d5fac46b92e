"""`POST /webhooks/tradingview` on ASGI servers, without Django's request handler in between.

Why a route of its own: under ASGI, Django runs every hook of every sync middleware through a thread
hop of its own (`sync_to_async`), and spawns a thread per request to do it. With this project's nine
middleware that was ~4 ms of CPU per request before a view started, four times what the intake
itself costs (measured: docs/benchmarks.md §10.8), and it capped one process below 250 requests/s.
The webhook needs none of it: no session, CSRF, login, messages or templates. So this route reads the
body, hands the request to the same intake as the Django view (`webhooks.receive`) on a small fixed
pool of threads (one hop, no thread started per request) and answers. Every other path, websockets
included, goes to the application it wraps, unchanged.

What the middleware did that still matters is done here: the Host header is checked against
`ALLOWED_HOSTS` by Django's own rule (`HttpRequest.get_host`), and database connections are given
back after each request as Django's request-finished signal would (`_release_connections`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.http import HttpRequest
from django.utils.http import parse_header_parameters

from engine_site.bodylimit import ASGIApp, Receive, Scope, Send

from . import webhooks
from .core.webhook_payload import MAX_BODY_BYTES

log = logging.getLogger(__name__)

PATHS = frozenset({webhooks.PATH, webhooks.PATH + "/"})
# Threads that run the intake. PostgreSQL: four, so commits (a disk flush each) overlap. SQLite has one
# write lock, which its waiters poll with growing sleeps: four threads spent a third of their time
# there and held 150-177 webhooks/s where two held 196 (docs/benchmarks.md §10.8).
THREADS = {"sqlite": 2, "postgresql": 4}


class WebhookRoute:
    """ASGI middleware: the webhook path to the intake directly, anything else to `app`."""

    def __init__(self, app: ASGIApp, threads: int | None = None) -> None:
        self.app = app
        threads = threads or THREADS.get(connections["default"].vendor, 2)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _path(scope) not in PATHS:
            await self.app(scope, receive, send)
            return
        meta = _meta(scope)
        try:
            body = None if _declared_too_big(meta) else await _read_body(receive)
        except ClientGone:
            return  # the client went away before its body arrived: nothing to store or answer
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self.executor, _handle, scope["method"], meta, body)
        await _send_json(send, answer)


class ClientGone(Exception):
    """The connection closed before the whole body arrived."""


def _path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _meta(scope: Scope) -> dict[str, str]:
    """The request's headers as Django's request.META spells them (repeated headers joined by ",")."""
    meta: dict[str, str] = {"REQUEST_METHOD": scope["method"], "PATH_INFO": _path(scope)}
    client, server = scope.get("client"), scope.get("server")
    if client:
        meta["REMOTE_ADDR"], meta["REMOTE_PORT"] = str(client[0]), str(client[1])
    if server:
        meta["SERVER_NAME"], meta["SERVER_PORT"] = str(server[0]), str(server[1] or "")
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        key = name if name in ("CONTENT_LENGTH", "CONTENT_TYPE") else "HTTP_" + name
        value = raw_value.decode("latin1")
        meta[key] = f"{meta[key]},{value}" if key in meta else value
    return meta


def _declared_too_big(meta: dict[str, str]) -> bool:
    declared = meta.get("CONTENT_LENGTH", "").strip()
    return declared.isdigit() and int(declared) > MAX_BODY_BYTES


async def _read_body(receive: Receive) -> bytes | None:
    """The body, None once more than the webhook's limit arrived (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _handle(method: str, meta: dict[str, str], body: bytes | None) -> webhooks.Answer:
    """Runs on an intake thread: the Host check, then the intake, then the connection handed back."""
    if not _host_allowed(meta):
        error = {"status": "rejected", "error": "the Host header is not in ALLOWED_HOSTS"}
        return webhooks.Answer(400, error)
    content_type, _ = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
    inbound = webhooks.Inbound(method, meta, content_type, lambda: body)
    _release_connections()  # one left broken by an earlier request is dropped first
    try:
        return webhooks.receive(inbound)
    except Exception:
        # A bug, not a refusal: logged with its traceback as Django logs a view's, answered without
        # detail. TradingView re-sends a 5xx, and the inbox's duplicate rules make that harmless.
        log.exception("webhook failed: %s %s", method, meta.get("PATH_INFO", ""))
        return webhooks.Answer(500, {"status": "error", "error": "internal error; see the server log"})
    finally:
        _release_connections()


def _release_connections() -> None:
    """What Django's request signals do (`close_old_connections`), except that an intake thread keeps
    its SQLite connection: opening one costs ~0.7 ms and closing it ~0.8 ms (a WAL checkpoint), more
    than the intake's own work, and the threads are few and fixed. A PostgreSQL connection (or a
    broken one) is closed, which hands it back to the psycopg pool."""
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite" and conn.connection is not None and not conn.errors_occurred:
            continue
        conn.close_if_unusable_or_obsolete()


def _host_allowed(meta: dict[str, str]) -> bool:
    request = HttpRequest()
    request.META = meta
    try:
        request.get_host()  # Django's rule: ALLOWED_HOSTS, X-Forwarded-Host if trusted, DEBUG defaults
    except DisallowedHost:
        log.warning("webhook refused: Host %r is not in ALLOWED_HOSTS", meta.get("HTTP_HOST", ""))
        return False
    return True


async def _send_json(send: Send, answer: webhooks.Answer) -> None:
    body = json.dumps(answer.body, cls=DjangoJSONEncoder).encode()  # as JsonResponse encodes
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    headers += [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in answer.headers]
    start: dict[str, Any] = {"type": "http.response.start", "status": answer.status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
