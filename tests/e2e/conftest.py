"""Fixtures for the end-to-end tests (see `tests.e2e.process`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.process import start_run
from tests.serving import stop


@pytest.fixture
def running_engine(tmp_path) -> Iterator[tuple[str, str, str, subprocess.Popen]]:
    server = start_run(tmp_path)
    try:
        token = server.manage("create_api_token", "e2e", "--create-user")
        yield server.base, token, server.secret(), server.proc
    finally:
        stop(server.proc)
        print(server.log()[-3000:])
