"""`manage.py run` as a user starts it: a subprocess on a free port with a data dir of its own (stdlib only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serving import free_port, stop, wait_for

ROOT = Path(__file__).resolve().parents[2]
# Starts the command the way a background job of a non-interactive shell does (`manage.py run &` in
# a script or a CI step): with SIGINT ignored, inherited through exec.
SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@dataclass
class RunProcess:
    proc: subprocess.Popen
    base: str
    port: int
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    def manage(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
        )
        # The command's own words, not only its exit status, when it fails.
        assert done.returncode == 0, (
            f"manage.py {' '.join(args)} exited {done.returncode}\n"
            f"stdout: {done.stdout}\nstderr: {done.stderr}\nserver log tail: {self.log()[-2000:]}"
        )
        return done.stdout.strip()

    def secret(self) -> str:
        return json.loads((self.data_dir / "config.json").read_text())["security"]["webhook_secret"]

    def log(self) -> str:
        return self.log_path.read_text()


def start_run(tmp_path: Path, *, sigint_ignored: bool = False) -> RunProcess:
    """Start `manage.py run` and wait (generously: the machine may be busy) until it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ENGINE_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    log_path = tmp_path / "run.log"
    prefix = [sys.executable, "-c", SIGINT_IGNORED] if sigint_ignored else [sys.executable]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*prefix, "manage.py", "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    server = RunProcess(proc, f"http://127.0.0.1:{port}", port, tmp_path / "data", env, log_path)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"manage.py run exited with {proc.returncode}:\n{server.log()[-3000:]}")
        try:
            return call("GET", f"{server.base}/api/v1/health")[0] == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=90, what="manage.py run to answer")
    except BaseException:
        stop(proc)
        raise
    return server
