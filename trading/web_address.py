"""Where this data directory's web server listens, so tools on the same machine can find it.

`manage.py run` records its address in `<data dir>/web_address.json` once it listens and removes it
when it stops; `send_test_signal` posts there when no `--url` is given. A record whose process is
gone is ignored, so a crash never leaves a wrong address behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings

FILE_NAME = "web_address.json"
# Listening on every interface: the same machine reaches it on loopback.
_ANY = {"", "0.0.0.0", "::", "[::]"}


def path() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def remember(host: str, port: int, pid: int | None = None) -> None:
    """Record that process `pid` (this one by default) serves on host:port."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"host": host, "port": port, "pid": pid or os.getpid()}) + "\n")
    os.replace(tmp, target)


def forget(pid: int | None = None) -> None:
    """Remove the record if process `pid` (this one by default) wrote it."""
    record = _read()
    if record is not None and record.get("pid") == (pid or os.getpid()):
        path().unlink(missing_ok=True)


def running_base_url() -> str | None:
    """`http://host:port` of the running web server, or None when none is recorded or it is gone."""
    record = _read()
    if record is None:
        return None
    host, port, pid = record.get("host"), record.get("port"), record.get("pid")
    if not isinstance(host, str) or not isinstance(port, int) or not isinstance(pid, int):
        return None
    if not _alive(pid):
        return None
    host = "127.0.0.1" if host in _ANY else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def _read() -> dict | None:
    try:
        record = json.loads(path().read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, run by another user
    return True


def _alive_on_windows(pid: int) -> bool:
    # os.kill(pid, 0) is no probe on Windows: it terminates the process. Ask for its exit code instead.
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        still_active = 259
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
