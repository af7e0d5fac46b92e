"""A page that can be trusted at a glance: a hung engine, blocked entries, a refused command and a
dead server each show at once, in red, on the page that is open. Issue #13, items 1, 10 and 11.

A server of its own: the last test kills it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Engine, live, running_engine, wait_for

# An engine is "not responding" 10 s after its last heartbeat; the page's socket checks every 2 s.
ENGINE_MS = 40_000
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    with running_engine() as engine:
        assert engine.call("PUT", "/api/v1/config", {"execution_pool": {"max_open_groups": 1}})[0] == 200
        assert engine.webhook("BTCUSDT", "43000") == 202
        wait_for(lambda: engine.call("GET", "/api/v1/groups?status=open")[1]["items"], what="BTC open")
        assert engine.webhook("ETHUSDT", "2300") == 202  # the pool is full: ETH waits
        wait_for(lambda: engine.call("GET", "/api/v1/queue")[1]["items"], what="ETH queued")
        yield engine


def _engine_process(server: Engine) -> int:
    """The engine process `manage.py run` started (its child running `runengine`)."""
    assert server.proc is not None
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    for pid in children:
        if "runengine" in Path(f"/proc/{pid}/cmdline").read_text():
            return int(pid)
    raise AssertionError(f"no runengine child of manage.py run ({children})")


def _dashboard(context: Any, server: Engine) -> Any:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.base + "/")
    live(page)
    return page


def test_a_hung_engine_turns_banner_badge_risk_and_pause_red(admin: Any, server: Engine) -> None:
    page = _dashboard(admin, server)
    assert page.inner_text("[data-testid=engine-badge]").strip() == "Engine Running"
    assert page.locator("[data-testid=pause]").is_enabled()
    engine = _engine_process(server)
    os.kill(engine, signal.SIGSTOP)  # alive but silent: no heartbeat, no exit
    try:
        page.wait_for_selector("[data-testid=conn-banner][data-kind=engine]", timeout=ENGINE_MS)
        assert page.inner_text("[data-testid=conn-banner] .conn-title") == "Engine not responding"
        page.wait_for_selector("[data-testid=engine-banner].state-unresponsive", timeout=WAIT_MS)
        assert page.inner_text("[data-testid=engine-badge]").strip() == "Engine not responding"
        assert page.inner_text("[data-testid=risk-badge]") == "Stopped"
        assert page.locator("[data-testid=pause]").is_disabled()
        assert page.locator("#live-status[data-state=open]").count() == 1  # the web itself is fine
    finally:
        os.kill(engine, signal.SIGCONT)
    page.wait_for_selector("[data-testid=engine-banner].state-running", timeout=ENGINE_MS)
    page.wait_for_selector("[data-testid=conn-banner]", state="hidden", timeout=WAIT_MS)
    assert page.locator("[data-testid=pause]").is_enabled()
    page.close()


def test_blocked_entries_show_everywhere_and_a_refused_force_add_says_why(admin: Any, server: Engine) -> None:
    page = _dashboard(admin, server)
    server.manage(
        "shell",
        "-c",
        "from exchanges.models import ExchangeAccount; "
        "ExchangeAccount.objects.filter(label='paper').update(entries_blocked_reason='test: funds ran out')",
    )
    # Without any engine event: the next tick (every 10 s) shows it.
    page.wait_for_selector("[data-testid=entries-blocked]", timeout=WAIT_MS)
    assert "paper" in page.inner_text("[data-testid=entries-blocked]")
    assert page.locator("[data-testid=funds-row] [data-testid=entries-stopped]").count() == 1
    page.goto(server.base + "/queue/")
    live(page)
    assert page.locator("[data-testid=entries-blocked]").is_visible()  # on every page, not only here
    page.locator("[data-testid=queue-row] [data-testid=force]").click()
    toast = page.locator("[data-testid=toast]", has_text="force failed")
    toast.wait_for(timeout=WAIT_MS)
    assert "entries stopped on paper" in toast.inner_text()
    page.close()


def test_killing_the_server_shows_connection_lost_at_once(admin: Any, server: Engine) -> None:
    page = _dashboard(admin, server)
    lines: list[str] = []
    page.on("console", lambda message: lines.append(message.text))
    assert server.proc is not None
    server.proc.kill()  # SIGKILL: no goodbye to the sockets
    banner = page.locator("[data-testid=conn-banner][data-kind=lost]")
    banner.wait_for(timeout=5_000)  # the promise: within 5 s
    assert page.inner_text("[data-testid=conn-banner] .conn-title") == "Connection lost"
    assert page.inner_text("[data-testid=engine-badge]").strip() == "Connection lost"
    assert page.inner_text("[data-testid=engine-banner] .banner-text") == "Connection lost"
    assert page.evaluate("() => document.body.classList.contains('is-stale')")  # figures greyed
    actions = page.locator("button[hx-post]")
    assert actions.count() > 0 and all(button.is_disabled() for button in actions.all())
    page.wait_for_function(
        "() => /from [0-9]+ s ago/.test(document.querySelector('[data-testid=conn-banner]').textContent)"
    )
    ours = [line for line in lines if line.startswith("console:")]
    assert len(ours) == 1 and "live updates lost" in ours[0], lines
    assert not any("[object Event]" in line for line in lines), lines
    page.close()
