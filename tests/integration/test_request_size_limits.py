"""Request bodies over `REQUEST_BODY_MAX_BYTES` are refused with a 413 before they are read or buffered:
by Content-Length at once, and a streamed (chunked) body as soon as it passes the limit."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.serving import free_port, http_scope, stop, wait_for

ROOT = Path(__file__).resolve().parents[2]
LIMIT = settings.REQUEST_BODY_MAX_BYTES
HUGE = 200 * 1024 * 1024


def call_asgi(
    path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]], method: str = "POST"
) -> dict[str, Any]:
    """Run one request through the project's ASGI application; report the answer and the chunks it read."""
    from engine_site.asgi import application

    scope = http_scope(path, [(b"host", b"127.0.0.1"), *headers], method=method)
    seen = {"read": 0, "status": None, "body": b""}

    async def receive() -> dict[str, Any]:
        if seen["read"] == len(chunks):
            await asyncio.sleep(3600)  # a client that never sends more: only a disconnect ends it
        seen["read"] += 1
        return {
            "type": "http.request",
            "body": chunks[seen["read"] - 1],
            "more_body": seen["read"] < len(chunks),
        }

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
        else:
            seen["body"] += message.get("body", b"")

    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=60))
    return seen


def test_a_body_declared_over_the_limit_is_refused_before_any_of_it_is_read() -> None:
    answer = call_asgi("/healthz", [b"x" * 1024] * 4, [(b"content-length", str(HUGE).encode())])
    assert answer["status"] == 413
    assert answer["read"] == 0
    assert json.loads(answer["body"]) == {
        "detail": f"request body larger than {LIMIT} bytes",
        "limit_bytes": LIMIT,
    }


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit_and_never_reaches_a_view() -> None:
    chunk = b"x" * (64 * 1024)
    answer = call_asgi("/healthz", [chunk] * (4 * LIMIT // len(chunk)), [])
    assert answer["status"] == 413  # /healthz would have answered 200 "ok"
    assert answer["read"] == LIMIT // len(chunk) + 1  # not one chunk more than needed to know
    # Exactly at the limit goes through (GET: a POST here would meet the CSRF check first).
    under = call_asgi("/healthz", [chunk] * (LIMIT // len(chunk)), [], method="GET")
    assert (under["status"], under["body"]) == (200, b"ok")


# --- a real daphne process ------------------------------------------------------------------------


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def answer_of(sock: socket.socket) -> bytes:
    received = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and b"}" not in received:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        received += data
    return received


def post_huge(port: int, *, chunked: bool) -> tuple[bytes, int]:
    """Stream a 200 MiB POST, stopping once the server answers; the answer and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}"
    sock.sendall(f"POST /webhooks/tradingview HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n\r\n".encode())
    block, sent = b"x" * (256 * 1024), 0
    try:
        # An honest Content-Length is refused before a byte of the body is sent: wait for that once.
        while sent < HUGE and not select.select([sock], [], [], 0 if chunked or sent else 20)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            sent += len(block)
        return answer_of(sock), sent
    finally:
        sock.close()


@pytest.fixture
def daphne(tmp_path: Path):
    """`daphne engine_site.asgi:application`, the production web process; refusals need no database."""
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        ENGINE_DATA_DIR=str(tmp_path / "data"), XDG_DATA_HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path)
    )
    log = (tmp_path / "daphne.log").open("w")
    command = [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "engine_site.asgi:application",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)

    def answers() -> bool:
        assert proc.poll() is None, (tmp_path / "daphne.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return sock.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    try:
        wait_for(answers, timeout=90, what="daphne to answer")  # also warms Django up
        yield port, proc.pid
    finally:
        stop(proc)
        log.close()


@pytest.mark.e2e
@pytest.mark.database_independent  # its daphne runs without DATABASE_URL: refusals need no database
def test_a_200_mib_post_is_refused_by_daphne_without_being_buffered(daphne) -> None:
    port, pid = daphne
    before = peak_rss_kib(pid)
    for chunked in (False, True):
        answer, sent = post_huge(port, chunked=chunked)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"limit_bytes": %d' % LIMIT in answer
        assert sent <= (0 if not chunked else 16 * LIMIT)  # the client stopped once told to
    # Buffered, the body raised the peak by ~210 MB (2 x 200 MiB here); refused, it stays flat.
    assert peak_rss_kib(pid) - before < 32 * 1024
