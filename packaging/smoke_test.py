"""Smoke-test a built desktop app as a user runs it (stdlib only; Linux, Windows and macOS).

    python packaging/smoke_test.py dist/tv-engine/tv-engine[.exe]

Starts the binary from an empty folder with --no-browser on a free port and a fresh data folder,
waits for /api/v1/health, checks static files and the first-run page, sends a test signal with the
app's own `manage send_test_signal`, waits until the engine applied it (API), then stops the app the
way the OS does (SIGTERM; on Windows a Ctrl-Break, what closing its window amounts to) and checks
that it exited cleanly and its engine process is gone. Exit status 0 when all of that held.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

START_TIMEOUT_SEC = 180.0  # a first start migrates and loads market rules, on a busy 2-core machine
STEP_TIMEOUT_SEC = 120.0
STOP_TIMEOUT_SEC = 30.0
WINDOWS = sys.platform == "win32"


class SmokeFailed(Exception):
    pass


def main(app: Path) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tv-engine-smoke-") as work:
        data, out = Path(work) / "data", Path(work) / "app.log"
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start(app, port, data, out, cwd=Path(work))
        try:
            _step(started, f"started {app} (process {proc.pid}) on {base}")
            log = _wait(
                lambda: _log_if(out, "TV Engine is running"), START_TIMEOUT_SEC, "the app to answer", proc
            )
            engine_pid = int(_match(r"engine\s+running \(process (\d+)\)", log, "the engine process"))
            health = _get_json(f"{base}/api/v1/health")
            _check(health["db"] == "ok", f"health: {health}")
            _step(started, f"health: {health}")
            _check(_status(f"{base}/static/css/console.css") == 200, "static files are not served")
            setup = _match(rf"({re.escape(base)}/setup/\?token=[\w-]+)", log, "the first-run link")
            _check(_status(setup) == 200, "the first-run page did not open")
            _check(_status(f"{base}/setup/?token=wrong") == 403, "a wrong set-up token was accepted")
            _step(started, "first-run page: opens with the launcher's token only")
            sent = _manage(
                app, data, "send_test_signal", "--symbol", "BTCUSDT", "--price", "43000", "--size", "500"
            )
            _check("HTTP 202" in sent, f"the webhook refused the test signal: {sent}")
            token = _manage(app, data, "create_api_token", "smoke", "--create-user").splitlines()[-1].strip()
            signal_row = _wait(
                lambda: _processed_signal(base, token), STEP_TIMEOUT_SEC, "the engine to apply it", proc
            )
            _check(signal_row["status"] == "applied", f"signal not applied: {signal_row}")
            groups = _get_json(f"{base}/api/v1/groups", token)["items"]
            _check(bool(groups), "no position group opened")
            _step(
                started,
                f"test signal applied: {signal_row['reason']}; groups {[g['symbol'] for g in groups]}",
            )
            _stop(proc)
            code = proc.wait(STOP_TIMEOUT_SEC)
            _check(code == 0, f"the app exited with status {code}")
            _wait(lambda: not _alive(engine_pid), STOP_TIMEOUT_SEC, "the engine process to exit", None)
            _check(not (data / "web_address.json").exists(), "the app left its address record behind")
            _step(started, "stopped cleanly; engine process gone")
        except BaseException:
            if proc.poll() is None:
                proc.kill()
            print(out.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise


def _start(app: Path, port: int, data: Path, out: Path, cwd: Path) -> subprocess.Popen:
    # The bundle must need nothing from the checkout or this shell: a clean environment, another folder.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ENGINE_DATA_DIR")}
    flags = subprocess.CREATE_NEW_PROCESS_GROUP if WINDOWS else 0  # so Ctrl-Break reaches only the app
    with open(out, "w") as log:
        return subprocess.Popen(
            [str(app), "--no-browser", "--port", str(port), "--data-dir", str(data)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            creationflags=flags,
        )


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.CTRL_BREAK_EVENT if WINDOWS else signal.SIGTERM)


def _manage(app: Path, data: Path, *args: str) -> str:
    env = {**os.environ, "ENGINE_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(app), "manage", *args], env=env, capture_output=True, text=True, timeout=120)
    _check(done.returncode == 0, f"manage {args[0]} exited {done.returncode}: {done.stdout}{done.stderr}")
    return done.stdout


def _processed_signal(base: str, token: str) -> dict[str, Any] | None:
    items = _get_json(f"{base}/api/v1/signals", token)["items"]
    return items[0] if items and items[0]["status"] != "received" else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.load(response)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _log_if(out: Path, text: str) -> str | None:
    log = out.read_text(errors="replace") if out.exists() else ""
    return log if text in log else None


def _alive(pid: int) -> bool:
    if WINDOWS:
        # os.kill(pid, 0) would terminate the process on Windows: ask tasklist instead.
        found = subprocess.run(["tasklist", "/FI", f"PID eq {pid}", "/NH"], capture_output=True, text=True)
        return str(pid) in found.stdout
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")  # a zombie nobody reaped has exited too
    return not (state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _wait(predicate: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen | None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SmokeFailed(f"the app exited with status {proc.returncode} while waiting for {what}")
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise SmokeFailed(f"timed out after {timeout:.0f} s waiting for {what}")


def _match(pattern: str, text: str, what: str) -> str:
    found = re.search(pattern, text)
    _check(found is not None, f"the app did not print {what}")
    return found.group(1)


def _check(condition: bool, problem: str) -> None:
    if not condition:
        raise SmokeFailed(problem)


def _step(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:5.1f} s] {text}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        main(Path(sys.argv[1]).resolve())
    except SmokeFailed as exc:
        sys.exit(f"SMOKE TEST FAILED: {exc}")
    print("smoke test passed")
