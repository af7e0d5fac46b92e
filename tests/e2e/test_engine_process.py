"""`manage.py run` runs the engine in a process of its own, woken on each signal, tied to `run`'s life."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from tests.e2e.process import RunProcess, call, start_run
from tests.e2e.test_run_command import webhook
from tests.serving import stop, wait_for

pytestmark = pytest.mark.e2e


def engine_pids(server: RunProcess) -> list[int]:
    """Every engine process `run` has announced or restarted, in order."""
    return [int(pid) for pid in re.findall(r"started engine process (\d+)", server.log())]


def alive(pid: int) -> bool:
    """Running, and not a zombie left for a parent that is gone (containers may not reap them)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def signal_status(server: RunProcess, token: str, signal_id: int) -> str:
    _, body = call("GET", f"{server.base}/api/v1/signals/{signal_id}", token=token)
    return body.get("status", "")


@pytest.fixture
def server(tmp_path):
    server = start_run(tmp_path)
    yield server
    stop(server.proc)


def test_the_engine_runs_in_a_child_process_of_run(server):
    [engine] = engine_pids(server)
    assert engine != server.proc.pid
    assert alive(engine)
    assert Path(f"/proc/{engine}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(
        server.proc.pid
    )  # its parent


def test_a_signal_is_applied_by_the_engine_process(server):
    token = server.manage("create_api_token", "e2e", "--create-user")
    status, body = webhook(server.base, server.secret(), entry_price="43000", order_size="500")
    assert status == 202, body
    wait_for(lambda: signal_status(server, token, body["signal_id"]) == "applied", what="the signal to apply")


def test_the_engine_stops_when_run_is_killed(server):
    [engine] = engine_pids(server)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    wait_for(lambda: not alive(engine), timeout=60, what="the orphaned engine to stop")


def test_run_restarts_an_engine_process_that_died(server):
    token = server.manage("create_api_token", "e2e", "--create-user")
    [engine] = engine_pids(server)
    os.kill(engine, signal.SIGKILL)
    wait_for(lambda: len(engine_pids(server)) == 2, timeout=90, what="run to start a new engine")
    new_engine = engine_pids(server)[1]
    assert new_engine != engine and alive(new_engine)
    status, body = webhook(server.base, server.secret(), entry_price="43000", order_size="500")
    assert status == 202, body
    wait_for(
        lambda: signal_status(server, token, body["signal_id"]) == "applied",
        what="the new engine to apply it",
    )


def test_ctrl_c_stops_run_and_its_engine(server):
    [engine] = engine_pids(server)
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0
    wait_for(lambda: not alive(engine), timeout=30, what="the engine to stop with run")
