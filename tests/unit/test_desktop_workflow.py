"""The desktop build files agree with each other: the hosted-runner workflow (never run here), the
PyInstaller spec, the installer script and pyproject.toml. Static checks; the Linux build itself is
scripts/build_desktop.sh."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "desktop.yml"
SPEC = ROOT / "packaging" / "tv-engine.spec"


def _workflow() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow")
    return yaml.safe_load(WORKFLOW.read_text())


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _spec_list(name: str) -> list[str]:
    for node in ast.parse(SPEC.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {SPEC.name}")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_workflow_says_it_is_not_run_here() -> None:
    assert "NOT RUN HERE" in WORKFLOW.read_text().split("\nname:")[0]


def test_workflow_builds_windows_and_macos_on_hosted_runners() -> None:
    jobs = _workflow()["jobs"]
    assert {name: job["runs-on"] for name, job in jobs.items()} == {
        "windows": "windows-latest",
        "macos": "macos-latest",
    }
    assert _workflow()["env"]["PYTHON_VERSION"] == "3.11"


def test_every_job_builds_from_the_spec_and_runs_the_smoke_test() -> None:
    for name, job in _workflow()["jobs"].items():
        runs = _runs(job)
        assert '".[desktop]"' in runs, name
        assert "PyInstaller" in runs and "packaging/tv-engine.spec" in runs, name
        assert "packaging/smoke_test.py" in runs, name


def test_windows_ships_a_zip_and_an_installer_and_macos_a_dmg() -> None:
    jobs = _workflow()["jobs"]
    windows, macos = _runs(jobs["windows"]), _runs(jobs["macos"])
    assert "tv-engine.exe" in windows and "Compress-Archive" in windows
    assert "packaging\\tv-engine.iss" in windows and (ROOT / "packaging" / "tv-engine.iss").exists()
    assert "TV Engine.app" in macos and "hdiutil create" in macos and ".dmg" in macos


def test_installer_upgrades_in_place_without_touching_the_data_folder() -> None:
    text = (ROOT / "packaging" / "tv-engine.iss").read_text()
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", text, re.MULTILINE)  # one id for every version
    assert "PrivilegesRequired=lowest" in text
    assert "LOCALAPPDATA" not in text.split("[Setup]", 1)[1]  # nothing of the data folder is listed


def test_spec_bundles_every_package_setuptools_installs() -> None:
    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {name.rstrip("*") for name in include} == set(_spec_list("OURS"))


def test_spec_copies_what_settings_find_next_to_the_packages() -> None:
    text = SPEC.read_text()
    for folder in ("templates", "static"):
        assert (ROOT / folder).is_dir()
        assert f'(str(ROOT / "{folder}"), "{folder}")' in text, folder


def test_launcher_is_the_console_script_and_the_spec_entry() -> None:
    project = _pyproject()["project"]
    assert project["scripts"]["tv-engine"] == "desktop.launcher:main"
    assert "from desktop.launcher import main" in (ROOT / "packaging" / "tv_engine_main.py").read_text()
    assert re.fullmatch(r"pyinstaller==\d+\.\d+\.\d+", project["optional-dependencies"]["desktop"][0])
    assert any(dep.startswith("platformdirs") for dep in project["dependencies"])


def test_desktop_guide_covers_every_build_file_and_the_update_story() -> None:
    guide = (ROOT / "docs" / "desktop.md").read_text()
    for name in ("build_desktop.sh", "smoke_test.py", "tv-engine.spec", "tv-engine.iss", "desktop.yml"):
        assert name in guide, name
    for topic in (
        "## Install",
        "## First start",
        "## Where your data lives",
        "## Updating",
        "## Uninstalling",
    ):
        assert topic in guide, topic
    assert "manage backup" in guide and "not code-signed" in guide
