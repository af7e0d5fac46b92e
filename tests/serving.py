"""Running `manage.py run` as a subprocess for end-to-end and browser tests (stdlib only)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until `predicate` returns something truthy; fail the test after `timeout` seconds.

    Generous by default: CI runs with both cores busy, and the deadline only costs time on failure.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop the server as a user would (Ctrl-C); kill it only if it has not exited after `timeout` s.

    It promises 5 s (tests/e2e/test_shutdown.py holds it to that); here a stop is only cleanup.
    """
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=60)


def http_scope(
    path: str, headers: list[tuple[bytes, bytes]], *, method: str = "POST", client: str = "127.0.0.1"
) -> dict[str, Any]:
    """An ASGI HTTP scope as daphne hands a request to the project's application."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": (client, 50000),
        "server": ("127.0.0.1", 8000),
    }
