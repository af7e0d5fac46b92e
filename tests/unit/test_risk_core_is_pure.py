"""The risk core stays framework-free: importing it must not pull in Django or ccxt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import risk.core

RISK_CORE_MODULES = sorted(
    f"risk.core.{info.name}" for info in pkgutil.iter_modules([str(Path(risk.core.__file__).parent)])
)


def test_risk_core_modules_are_found() -> None:
    assert {"risk.core.plan", "risk.core.eligibility", "risk.core.timer"} <= set(RISK_CORE_MODULES)


def test_importing_the_risk_core_loads_neither_django_nor_ccxt() -> None:
    # A fresh interpreter: this test process may already have Django loaded by pytest-django.
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in RISK_CORE_MODULES)
        + "leaked = sorted(m for m in ('django', 'ccxt') if m in sys.modules)\n"
        + "assert not leaked, leaked\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(risk.core.__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
