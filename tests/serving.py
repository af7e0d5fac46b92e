"""Running `manage.py run` as a subprocess for end-to-end and browser tests (stdlib only)."""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


ROOT_FOR_TESTS = Path(__file__).resolve().parents[1]  # where `tests` imports from, for child processes
# Ports handed out by `free_port`, claimed for as long as this process lives (see there).
PORT_CLAIMS = Path(tempfile.gettempdir()) / "tv-engine-test-ports"
_claimed: list[Any] = []  # the open claim files: closing one would release its port


def free_port() -> int:
    """A free port on 127.0.0.1 that no other test process on this machine gets until this one exits.

    The OS picks a free port, but it is only free at that moment: the SQLite and PostgreSQL suites
    run side by side, each on several workers, and under load a server can take seconds to bind.
    Another test's server could take the port first, and then this test's readiness check and
    webhooks would be answered by the wrong server (a CI failure: another install's signals in this
    one's database). So each port is claimed with a lock file held until the process exits; a port
    another test process claimed is passed over.
    """
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if claim_port(port):
            return port
    raise RuntimeError("no free port that another test process has not claimed")


def claim_port(port: int) -> bool:
    """Claim `port` for this process (True), or False if another process (or this one) holds it."""
    if fcntl is None:  # no flock (Windows): the port as the OS gave it
        return True
    PORT_CLAIMS.mkdir(exist_ok=True)
    handle = open(PORT_CLAIMS / f"{port}.lock", "a")  # noqa: SIM115 - held open: that is the claim
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _claimed.append(handle)
    return True


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
