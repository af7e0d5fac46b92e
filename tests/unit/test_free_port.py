"""Test servers' ports: one test process's port is never another's (tests/serving.py `free_port`).

The SQLite and PostgreSQL suites run at once, each on several workers. A port that was free when a
test picked it could be bound by another test's server before its own; the readiness check and the
webhooks then reached the wrong server (seen in CI: another install's signals in this one's
database, and "relation does not exist" on a database whose server had not started yet).
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.serving import ROOT_FOR_TESTS, claim_port, fcntl, free_port

pytestmark = pytest.mark.skipif(fcntl is None, reason="ports are claimed with flock (POSIX)")


def claim_elsewhere(port: int) -> bool:
    """Whether another process can claim `port` (it exits at once, giving up what it claimed)."""
    code = f"from tests.serving import claim_port; print(claim_port({port}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT_FOR_TESTS,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip() == "True"


def test_a_port_handed_to_this_process_cannot_be_claimed_by_another():
    port = free_port()
    assert not claim_elsewhere(port)


def test_a_port_this_process_handed_out_is_not_handed_out_again_here():
    port = free_port()
    assert not claim_port(port)


def test_a_claim_ends_with_the_process_that_held_it():
    with socket.socket() as sock:  # a free port nobody claimed (free_port would claim it here)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert claim_elsewhere(port)  # the child claimed it, and has exited since
    assert claim_port(port)
