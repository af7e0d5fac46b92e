"""While prices stream (about four pushes a second), nothing the user does is lost: every click on
▸ expands or collapses its row, Close still lands, and focus, a text selection and a table's
horizontal scroll survive the pushes; changed values flash. Issue #13, items 2 and 3.

A server of its own (the story in test_console_browser.py keeps the shared one busy)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from .conftest import ADMIN, Engine, live, price_stream, pushes, running_engine, sign_in, wait_for

BTC = Decimal("43000")
CLICKS = 30
# A human click: the button is pressed for a moment. Long enough for a push to land in between.
PRESS_MS = 120
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    with running_engine() as engine:
        for symbol, price in (("BTCUSDT", "43000"), ("ETHUSDT", "2300"), ("XRPUSDT", "0.62")):
            assert engine.webhook(symbol, price) == 202

        def opened() -> bool:
            groups = engine.call("GET", "/api/v1/groups?status=open")[1]["items"]
            return len(groups) == 3

        wait_for(opened, what="three groups to open")
        yield engine


def _positions(context: Any, server: Engine) -> Any:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.base + "/positions/")
    live(page)
    return page


def _row(page: Any, symbol: str) -> Any:
    return page.locator("[data-testid=group-row]", has_text=symbol)


def test_every_click_on_the_expander_lands_while_prices_stream(admin: Any, server: Engine) -> None:
    page = _positions(admin, server)
    row = _row(page, "BTC/USDT")
    expansions = collapses = 0
    with price_stream(server, "BTCUSDT", BTC) as sent:
        pushes(page, 4)  # the stream is flowing
        for _ in range(CLICKS):
            for want in ("1", "0"):  # expand, then collapse again: 2 × CLICKS clicks in all
                row.locator("[data-testid=expand]").click(delay=PRESS_MS)
                page.wait_for_function(
                    "([id, want]) => document.getElementById(id).dataset.expanded === want",
                    arg=[row.get_attribute("id"), want],
                    timeout=WAIT_MS,
                )
                if want == "1":
                    assert row.locator("[data-testid=legs]").count() == 1
                    expansions += 1
                else:
                    collapses += 1
        moves = len(sent)
    assert (expansions, collapses) == (CLICKS, CLICKS)
    assert moves >= CLICKS, f"only {moves} price moves during the clicks: the stream did not flow"
    page.close()


def test_focus_selection_and_scroll_survive_pushes(browser: Any, server: Engine) -> None:
    # A phone: the expanded row's legs table scrolls sideways inside its card.
    context = sign_in(browser, server, ADMIN, viewport={"width": 390, "height": 844}, has_touch=True)
    page = _positions(context, server)
    row = _row(page, "BTC/USDT")
    row.locator("[data-testid=expand]").click()
    row.locator("[data-testid=legs]").wait_for(timeout=WAIT_MS)
    legs = row.locator(".legs-line .table-wrap")
    with price_stream(server, "BTCUSDT", BTC):
        pushes(page, 2)
        row.locator("[data-testid=expand]").focus()
        legs.evaluate("el => el.scrollLeft = 120")
        selected = row.locator(".pair").evaluate(
            """el => { const range = document.createRange(); range.selectNodeContents(el);
                       getSelection().removeAllRanges(); getSelection().addRange(range);
                       return getSelection().toString(); }"""
        )
        pushes(page, 8)
        assert page.evaluate("() => document.activeElement.dataset.testid") == "expand"
        assert legs.evaluate("el => el.scrollLeft") == 120
        assert page.evaluate("() => getSelection().toString()") == selected == "BTC/USDT"
    context.close()


def test_close_lands_while_prices_stream_and_changed_values_flash(admin: Any, server: Engine) -> None:
    page = _positions(admin, server)
    row = _row(page, "XRP/USDT")
    with price_stream(server, "BTCUSDT", BTC):
        pushes(page, 2)
        # The BTC row's last price changes with every move: it flashes (Web Animations, so a
        # morph that follows does not cut it short).
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=last-price]')]"
            ".some(cell => cell.getAnimations().length > 0)",
            timeout=WAIT_MS,
        )
        row.locator("[data-testid=close-group]").click(delay=PRESS_MS)
        page.locator("#my-commands", has_text="close_group").wait_for(timeout=WAIT_MS)
    page.locator("[data-testid=group-row]", has_text="XRP/USDT").wait_for(state="detached", timeout=30_000)
    page.close()
