"""In the frozen app `sys.executable` is the app itself: it must answer the command lines that `run`
(`-m django runengine`) and `replay` (`manage.py replay --child`) start their child processes with,
and `tv-engine manage COMMAND` for people."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _launcher(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ENGINE_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "desktop.launcher", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "prefix",
    [["-m", "django"], [str(ROOT / "manage.py")], ["manage"]],
    ids=["engine-child", "replay-child", "manage-subcommand"],
)
def test_app_answers_the_child_command_lines(tmp_path, prefix) -> None:
    done = _launcher(tmp_path, *prefix, "check")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "System check identified no issues" in done.stdout


def test_unknown_option_is_a_usage_error_not_a_start(tmp_path) -> None:
    done = _launcher(tmp_path, "--no-such-option")
    assert done.returncode == 2
    assert "usage: tv-engine" in done.stderr
    assert not (tmp_path / "data" / "engine.sqlite3").exists()
