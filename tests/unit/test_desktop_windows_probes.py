"""On Windows, `os.kill(pid, 0)` terminates the process: the liveness probe that send_test_signal uses
to find the running app (trading.web_address) must ask Windows instead."""

from __future__ import annotations

import os

from trading import web_address


def test_liveness_probe_never_signals_a_process_on_windows(monkeypatch) -> None:
    asked: list[int] = []

    def refuse_kill(pid: int, sig: int) -> None:
        raise AssertionError(f"os.kill({pid}, {sig}) would terminate the process on Windows")

    def windows_answer(pid: int) -> bool:
        asked.append(pid)
        return True

    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(os, "kill", refuse_kill)
    monkeypatch.setattr(web_address, "_alive_on_windows", windows_answer)
    assert web_address._alive(4242) is True
    assert asked == [4242]
