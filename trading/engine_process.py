"""`manage.py run`'s engine: a child process (`runengine`), linked, supervised and stopped with `run`.

Web and engine in two processes means two interpreters: the engine's ticks no longer take the GIL
from the web server's request handling (in one process the tick held it 61 % of the time under a
webhook burst). The link (trading/engine_link.py) wakes the engine on every committed signal or
command, carries the console's live pushes back to the web process, and makes the engine stop when
`run` goes away, even after kill -9 of `run`.

If the engine process dies on its own, `run` logs it and starts another after a pause (doubling
from 1 s to 30 s while it keeps failing): every step is committed, so a new engine carries on
where the dead one stopped, as after any crash.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Listener
from typing import Any

from django.conf import settings

from . import live, wake
from .engine.crashpoints import CRASH_AT_ENV
from .engine_link import Endpoint, link_environment

log = logging.getLogger(__name__)

READY_TIMEOUT_SEC = 120.0  # a first start on a slow machine loads ~2,000 market rules
RESTART_PAUSE_SEC = (1.0, 30.0)


class EngineStartFailed(Exception):
    """The engine process exited before it was running (its own error is on stderr)."""


class EngineProcess:
    def __init__(self, paper_feed: str | None = None) -> None:
        self.paper_feed = paper_feed
        self._key = os.urandom(32)
        self._listener = Listener(("127.0.0.1", 0), authkey=self._key)
        self._proc: subprocess.Popen | None = None
        self._link: Endpoint | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # ---- starting -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine process and wait until it runs; EngineStartFailed if it exits first."""
        wake.connect(self.wake)
        self._spawn()
        self._wait_ready()
        threading.Thread(target=self._supervise, name="engine-supervisor", daemon=True).start()

    def _spawn(self, *, restart: bool = False) -> None:
        self._ready.clear()
        command = [sys.executable, "-m", "django", "runengine", "--no-migrate"]
        if self.paper_feed:
            command += ["--paper-feed", self.paper_feed]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "engine_site.settings"),
            "ENGINE_DATA_DIR": str(settings.DATA_DIR),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")])
            ),
            **link_environment(self._listener.address, self._key),
        }
        if restart:
            env.pop(CRASH_AT_ENV, None)  # a test's crash point fires in the first engine only
        # Its own output goes to the same terminal and log as `run`'s.
        self._proc = subprocess.Popen(command, env=env, cwd=os.getcwd())
        log.info("started engine process %s", self._proc.pid)
        threading.Thread(
            target=self._accept, args=(self._proc,), name="engine-link-accept", daemon=True
        ).start()

    def _accept(self, proc: subprocess.Popen) -> None:
        try:
            conn = self._listener.accept()
        except Exception:  # noqa: BLE001 - closed while stopping, or a stranger without the key
            log.debug("engine link: accept ended", exc_info=True)
            return
        link = Endpoint(conn, "web")
        with self._lock:
            if proc is not self._proc:  # a link from a process we already gave up on
                link.close()
                return
            self._link = link
        link.serve({"ready": self._on_ready, "live": self._on_live}, on_close=lambda: None)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SEC
        while not self._ready.wait(0.1):
            code = self._proc.poll()
            if code is not None:
                raise EngineStartFailed(f"the engine process exited with status {code} before it ran")
            if time.monotonic() > deadline:
                self._proc.kill()
                raise EngineStartFailed(f"the engine process did not start within {READY_TIMEOUT_SEC:.0f} s")

    def _on_ready(self, message: dict[str, Any]) -> None:
        self._ready.set()

    def _on_live(self, message: dict[str, Any]) -> None:
        live.publish(list(message.get("topics") or []), list(message.get("groups") or []))

    # ---- running ------------------------------------------------------------------------------

    def wake(self) -> None:
        link = self._link
        if link is not None:
            link.send("wake")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _supervise(self) -> None:
        pause = RESTART_PAUSE_SEC[0]
        while not self._stopping.is_set():
            proc = self._proc
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.error(
                "engine process %s exited with status %s; starting a new one in %.0f s", proc.pid, code, pause
            )
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._link is not None:
                    self._link.close()
                    self._link = None
                if self._stopping.is_set():
                    return
                self._spawn(restart=True)
            started = time.monotonic()
            self._ready.wait(READY_TIMEOUT_SEC)
            # A process that ran a while earns a quick restart next time; one that keeps failing, less.
            pause = (
                RESTART_PAUSE_SEC[0]
                if time.monotonic() - started > 60
                else min(pause * 2, RESTART_PAUSE_SEC[1])
            )

    # ---- stopping -----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the engine to stop cleanly (thread-safe, cheap: called from a signal handler)."""
        self._stopping.set()
        link = self._link
        if link is not None:
            link.send("stop")

    def stop(self, timeout: float) -> bool:
        """Wait up to `timeout` for a clean stop (status 0); kill the engine past it. True if clean."""
        self.request_stop()
        wake.disconnect(self.wake)
        proc = self._proc
        clean = True
        if proc is not None:
            try:
                clean = proc.wait(max(timeout, 0.1)) == 0
            except subprocess.TimeoutExpired:
                log.error(
                    "engine process %s did not stop in time; killing it (it resumes on next start)", proc.pid
                )
                proc.kill()
                proc.wait()
                clean = False
        if self._link is not None:
            self._link.close()
        self._listener.close()
        return clean
