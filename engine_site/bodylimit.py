"""Refuse request bodies over `REQUEST_BODY_MAX_BYTES` before they are read, with a 413 JSON answer.

Django's own `DATA_UPLOAD_MAX_MEMORY_SIZE` comes too late under ASGI: Django's ASGI handler reads the
whole body before any middleware or view runs. And daphne is earlier still: Twisted receives the
whole body (into a temporary file above 100 kB) before daphne calls the application, and daphne then
puts every 8 KiB chunk of it on the application's queue at once, in memory. A 200 MiB POST raised
the process's peak memory by about 210 MB whatever the view did with it. Hence two guards:

- `guard_daphne()` makes daphne's request refuse while the body is still arriving: at once when the
  Content-Length is over the limit, or as soon as a chunked body passes it. Nothing is buffered.
- `BodySizeLimit` is the same rule as plain ASGI middleware, for any other server (uvicorn, hypercorn)
  and as a second line under daphne.

Endpoints keep their own tighter limits (the webhook: 64 KiB, `trading.core.webhook_payload`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

# After refusing, keep reading (and dropping) what the client still sends for this long before
# closing: closing a socket with unread data resets it, and the client could lose the 413.
LINGER_SECONDS = 5.0


def refusal(limit: int) -> bytes:
    return json.dumps({"detail": f"request body larger than {limit} bytes", "limit_bytes": limit}).encode()


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The largest Content-Length the request declares, or None (chunked, or none at all)."""
    lengths = [int(value) for name, value in headers if name.lower() == b"content-length" and value.isdigit()]
    return max(lengths) if lengths else None


class BodySizeLimit:
    """ASGI middleware: 413 by Content-Length before reading, or once streamed chunks pass the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope.get("headers", []))
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        received = 0
        over = started = False

        async def limited_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Django treats a disconnect while reading the body as an aborted request and
                    # answers nothing, which leaves the answer to us.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, watched_send)
        if over and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        log.warning("refused a request body over %d bytes", self.limit)
        body = refusal(self.limit)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def guard_daphne(limit: int) -> bool:
    """Make daphne's HTTP/1.1 request refuse a body over `limit` while it arrives; False without daphne.

    Only when daphne is already imported (it is whenever it serves, and `daphne` is an installed app),
    so importing this never installs a Twisted reactor. Pinned to daphne 4.2's `WebRequest`.
    """
    module = sys.modules.get("daphne.http_protocol")
    if module is None:
        return False
    current = module.WebRequest
    if getattr(current, "body_limit", None) is not None:  # guarded already: only move the limit
        current.body_limit = limit
        return True

    class LimitedWebRequest(current):  # type: ignore[misc, valid-type]
        body_limit = limit
        _refused = False
        _body_bytes = 0

        def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
            super().gotLength(length)
            if length is not None and length > self.body_limit:
                # No "100 Continue" for a body we refuse: Twisted sends it right after this call.
                self.requestHeaders.removeHeader(b"Expect")
                self._refuse()

        def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
            if self._refused:
                return  # lingering: drop it
            self._body_bytes += len(data)
            if self._body_bytes > self.body_limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
            if not self._refused:  # a refused request never reaches the application
                super().requestReceived(command, path, version)

        def _refuse(self) -> None:
            from twisted.internet import reactor

            self._refused = True
            self.content.close()  # whatever was spooled so far
            log.warning(
                "refused a request body over %d bytes from %s",
                self.body_limit,
                getattr(self.getClientAddress(), "host", "?"),
            )
            body = refusal(self.body_limit)
            transport = self.channel.transport
            transport.write(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            # Half-close: the answer goes out, the client's remaining upload is read and dropped.
            close_writes = getattr(transport, "loseWriteConnection", transport.loseConnection)
            close_writes()
            reactor.callLater(LINGER_SECONDS, _abort, transport)

    module.WebRequest = LimitedWebRequest
    return True


def _abort(transport: Any) -> None:
    if getattr(transport, "connected", False):
        transport.abortConnection()
