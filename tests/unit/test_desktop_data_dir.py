"""Where the desktop app keeps its data: --data-dir, else ENGINE_DATA_DIR, else the user data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop.launcher import APP_NAME, data_dir


def test_explicit_data_dir_wins(tmp_path) -> None:
    chosen = data_dir(str(tmp_path / "mine"), {"ENGINE_DATA_DIR": str(tmp_path / "env")})
    assert chosen == (tmp_path / "mine").resolve()


def test_engine_data_dir_wins_over_the_platform_folder(tmp_path) -> None:
    assert data_dir(None, {"ENGINE_DATA_DIR": str(tmp_path / "env")}) == (tmp_path / "env").resolve()


def test_default_is_the_platforms_user_data_folder() -> None:
    expected = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=False))
    assert data_dir(None, {}) == expected
    assert expected.name == APP_NAME


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG applies on Linux")
def test_default_follows_xdg_data_home_on_linux(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir(None, {}) == tmp_path / "xdg" / APP_NAME


def test_server_layout_keeps_engine_data_in_the_working_folder(tmp_path, monkeypatch) -> None:
    # manage.py (not the launcher) still defaults to ./engine_data: the desktop folder is the launcher's choice.
    from engine_site import env

    monkeypatch.delenv("ENGINE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert env.data_dir() == tmp_path / "engine_data"
