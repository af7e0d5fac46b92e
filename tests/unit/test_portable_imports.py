"""The project's own code imports on Windows: no module of ours needs `fcntl`, `pwd`, `resource` or
`termios` (Unix-only) to import.

Run on Linux, in a fresh interpreter: the third-party libraries are imported first (on Linux they may
use those modules, and on Windows they take their own paths), then the Unix-only modules are made
unimportable and every module of ours is imported. One of ours that imports them fails the test,
so Windows breakage is caught here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIX_ONLY = ("fcntl", "pwd", "resource", "termios")
OURS = ("engine_site", "trading", "risk", "exchanges", "dashboard", "desktop")
# Imported before the block: libraries that use the Unix modules on Linux and others on Windows.
THIRD_PARTY = (
    "twisted.internet.reactor",
    "daphne.server",
    "channels.layers",
    "ccxt",
    "psycopg",
    "psycopg_pool",
    "apscheduler.schedulers.background",
    "filelock",
    "keyring",
    "django.core.management",
    "django.test",
    "asyncio",
    "multiprocessing.connection",
    "subprocess",
    "logging.handlers",
)

SCRIPT = f"""
import importlib, os, pkgutil, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
import django
django.setup()
for name in {THIRD_PARTY!r}:
    importlib.import_module(name)

BLOCKED = {UNIX_ONLY!r}

class WindowsHasNone:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} does not exist on Windows")
        return None

for name in BLOCKED:
    sys.modules.pop(name, None)
sys.meta_path.insert(0, WindowsHasNone())

failures = []
for package in sys.argv[1:]:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if ".migrations." in info.name or info.name.endswith(".migrations"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            if any(blocked in str(exc) for blocked in BLOCKED):
                failures.append(f"{{info.name}}: {{exc}}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def _check(tmp_path: Path, packages: tuple[str, ...], extra_path: Path | None = None):
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *packages],
        cwd=ROOT,
        env={
            "ENGINE_DATA_DIR": str(tmp_path / "data"),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join(paths),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_module_of_ours_imports_without_unix_only_modules(tmp_path) -> None:
    done = _check(tmp_path, OURS)
    assert done.returncode == 0, f"Unix-only imports in our code:\n{done.stdout}\n{done.stderr[-3000:]}"


def test_the_check_catches_a_unix_only_import(tmp_path) -> None:
    # A package (outside the source tree, so parallel runs never see it) whose module imports fcntl.
    probe = tmp_path / "probe" / "portability_probe"
    probe.mkdir(parents=True)
    (probe / "__init__.py").write_text("")
    (probe / "unix_only.py").write_text("import fcntl  # noqa: F401\n")
    done = _check(tmp_path, ("portability_probe",), extra_path=probe.parent)
    assert done.returncode == 1
    assert "portability_probe.unix_only: fcntl does not exist on Windows" in done.stdout
