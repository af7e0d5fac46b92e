"""`tv-engine` (desktop.launcher) as a trader starts it: a subprocess with its own data folder, driven
over HTTP. First start: the one-time set-up page creates the admin; later starts open the console;
SIGTERM stops the app and its engine process."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from desktop import first_run
from tests.e2e.test_engine_process import alive
from tests.serving import stop, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-42"


def _launcher_command(data: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ENGINE_DATA_DIR")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "desktop.launcher", "--no-browser", "--port", "0", "--data-dir", str(data)]
    return argv, env


class Launcher:
    def __init__(self, tmp_path: Path, data: Path, name: str) -> None:
        self.data = data
        self.log_path = tmp_path / f"{name}.log"
        argv, env = _launcher_command(data)
        with open(self.log_path, "w") as log:
            # From another folder, as a shortcut starts it: nothing may depend on the working directory.
            self.proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=log)
        try:
            wait_for(self._announced, timeout=180, what="the launcher to announce the running app")
        except BaseException:
            stop(self.proc)
            raise
        self.base = re.search(r"TV Engine is running: (http://127\.0\.0\.1:\d+)/", self.log()).group(1)
        self.engine_pid = int(re.search(r"started engine process (\d+)", self.log()).group(1))

    def log(self) -> str:
        return self.log_path.read_text()

    def _announced(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the launcher exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        return "TV Engine is running" in self.log()


def _browser() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _users(data: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(data / "engine.sqlite3") as db:
        return db.execute("SELECT username, is_superuser FROM auth_user").fetchall()


def test_first_start_sets_up_the_admin_then_opens_the_console_and_stops_on_sigterm(tmp_path) -> None:
    data = tmp_path / "data"
    app = Launcher(tmp_path, data, "first")
    try:
        log = app.log()
        assert f"data folder  {data}" in log
        assert f"event log    {data / 'logs' / 'engine.jsonl'}" in log
        with urllib.request.urlopen(f"{app.base}/api/v1/health", timeout=30) as health:
            assert health.status == 200
        first_link = re.search(rf"{re.escape(app.base)}/setup/\?token=[\w-]+", log).group(0)

        # Started again while it runs (a second click on the icon): no second app, a fresh link.
        argv, env = _launcher_command(data)
        second = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert second.returncode == 0, second.stderr[-3000:]
        assert f"already running on this data folder: {app.base}/" in second.stdout
        setup_url = re.search(rf"{re.escape(app.base)}/setup/\?token=[\w-]+", second.stdout).group(0)
        with pytest.raises(urllib.error.HTTPError) as retired:
            urllib.request.urlopen(first_link, timeout=30)
        assert retired.value.code == 403

        browser = _browser()
        page = browser.open(setup_url, timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(setup_url).query)["token"][0]
        form = {"csrfmiddlewaretoken": csrf, "token": token, "username": "trader"}
        form |= {"password1": PASSWORD, "password2": PASSWORD}
        console = browser.open(f"{app.base}/setup/", urllib.parse.urlencode(form).encode(), timeout=30)
        assert console.status == 200 and console.url == f"{app.base}/"  # signed in, on the console
        assert _users(data) == [("trader", 1)]
        assert not (data / first_run.TOKEN_FILE).exists()
    finally:
        if app.proc.poll() is None:
            app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(timeout=60) == 0, app.log()[-3000:]
    wait_for(lambda: not alive(app.engine_pid), timeout=60, what="the engine process to stop with the app")

    again = Launcher(tmp_path, data, "restart")
    try:
        assert "first start" not in again.log() and "/setup/" not in again.log()
        with pytest.raises(urllib.error.HTTPError) as refused:  # the spent page sends to sign-in
            urllib.request.build_opener(_NoRedirect()).open(f"{again.base}/setup/?token={token}", timeout=30)
        assert refused.value.code == 302 and refused.value.headers["Location"] == "/accounts/login/"
    finally:
        stop(again.proc)
    assert again.proc.returncode == 0
    wait_for(lambda: not alive(again.engine_pid), timeout=60, what="the second engine process to stop")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_data_folder_another_engine_holds_is_refused_with_the_reason(tmp_path) -> None:
    from filelock import FileLock

    data = tmp_path / "data"
    data.mkdir()
    argv, env = _launcher_command(data)
    # Another engine (here: this test) holds the data folder's engine lock.
    with FileLock(str(data / "engine.sqlite3.engine.lock"), timeout=0):
        refused = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1
    assert "TV Engine could not start: the engine process exited" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "TV Engine is running" not in refused.stdout
