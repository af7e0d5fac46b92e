"""The pure cores stay framework-free: importing them must pull in neither Django nor ccxt."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORES = {
    "trading.core": {"ladder", "takeprofit", "clientid", "queue", "precision", "webhook_payload"},
    "risk.core": {"plan", "eligibility", "timer"},
    "exchanges.core": {"adapter", "paper_matching"},
}


def modules_of(package: str) -> list[str]:
    path = Path(importlib.import_module(package).__file__).parent
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules([str(path)]))


@pytest.mark.parametrize("package", sorted(CORES))
def test_core_modules_are_found(package: str) -> None:
    assert {f"{package}.{name}" for name in CORES[package]} <= set(modules_of(package))


@pytest.mark.parametrize("package", sorted(CORES))
def test_importing_a_core_loads_neither_django_nor_ccxt(package: str) -> None:
    # A fresh interpreter: this test process may already have Django loaded by pytest-django.
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in modules_of(package))
        + "leaked = sorted(m for m in ('django', 'ccxt') if m in sys.modules)\n"
        + "assert not leaked, leaked\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
