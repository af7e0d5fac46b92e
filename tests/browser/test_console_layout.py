"""How the console reads: a phone's 390 px, WCAG AA contrast in both themes (axe-core, served from
the test's own copy), times in the browser's zone, filters that take what users type, the log's
auto-scroll, and closed groups with their exit and realised PnL. Issue #13, items 5-9.

A server of its own, seeded once: three open groups (one took a leg's profit), one closed group and
one entry waiting in the queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ADMIN, Engine, axe_violations, live, running_engine, sign_in, wait_for

PHONE = {"width": 390, "height": 844}
PAGES = ("/", "/positions/", "/risk/", "/queue/", "/logs/", "/status/")
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    with running_engine() as engine:
        for symbol, price, tf in (
            ("BTCUSDT", "43000", "15"),
            ("ETHUSDT", "2300", "60"),
            ("LTCUSDT", "70", "240"),
        ):
            assert engine.webhook(symbol, price, timeframe=tf) == 202

        def groups(status: str = "open") -> list[dict]:
            return engine.call("GET", f"/api/v1/groups?status={status}")[1]["items"]

        wait_for(lambda: len(groups()) == 3, what="three groups to open")
        # BTC's DCA1 (42785) fills, then takes its +0.5 % profit: realised PnL on an open group.
        engine.applied(engine.price("BTCUSDT", "42780"))
        engine.applied(engine.price("BTCUSDT", "43100"))
        # LTC is closed at market: a closed group with an exit.
        ltc = next(g for g in groups() if g["symbol"] == "LTC/USDT")
        status, _ = engine.call("POST", f"/api/v1/groups/{ltc['id']}/close")
        assert status == 202
        wait_for(lambda: len(groups("closed")) == 1, what="LTC closed")
        # A full pool: the next signal waits in the queue.
        assert engine.call("PUT", "/api/v1/config", {"execution_pool": {"max_open_groups": 2}})[0] == 200
        assert engine.webhook("XRPUSDT", "0.62") == 202
        wait_for(lambda: engine.call("GET", "/api/v1/queue")[1]["items"], what="XRP queued")
        yield engine


def _admin(browser: Any, server: Engine, **context_args: Any) -> Any:
    return sign_in(browser, server, ADMIN, **context_args)


def _theme(page: Any, server: Engine, theme: str) -> None:
    page.goto(server.base + "/status/")
    if page.get_attribute("html", "data-theme") != theme:
        page.click("[data-testid=theme-toggle]")
        page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")


def test_every_page_fits_a_phone_and_every_tab_is_reachable(browser: Any, server: Engine) -> None:
    context = _admin(browser, server, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.pages[0]
    group = server.call("GET", "/api/v1/groups?status=open")[1]["items"][0]["id"]
    for path in (*PAGES, f"/positions/{group}/"):
        page.goto(server.base + path)
        live(page)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
        for tab in page.locator("nav.nav a").all():
            box = tab.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
                path,
                tab.inner_text(),
            )
            assert tab.is_visible()
    # Positions and the queue are cards: status, PnL and the actions of each show without scrolling.
    for path, row, cells in (
        (
            "/positions/",
            "[data-testid=group-row]",
            ("[data-testid=group-status]", "[data-testid=pnl]", "[data-testid=close-group]"),
        ),
        (
            "/queue/",
            "[data-testid=queue-row]",
            ("[data-label='Why waiting']", "[data-label='Loss %']", "[data-testid=force]"),
        ),
    ):
        page.goto(server.base + path)
        assert page.locator(row).count() > 0, path
        for card in page.locator(row).all():
            for cell in cells:
                box = card.locator(cell).bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (path, cell)
    context.close()


def test_contrast_meets_wcag_aa_in_light_and_dark(browser: Any, server: Engine) -> None:
    found = []
    for viewport, paths in (
        ({"width": 1280, "height": 860}, PAGES),
        (PHONE, ("/", "/positions/", "/queue/")),
    ):
        for theme in ("light", "dark"):
            # bypass_csp: the test injects axe as a script tag (the console's CSP allows none).
            context = _admin(browser, server, viewport=viewport, bypass_csp=True)
            page = context.pages[0]
            _theme(page, server, theme)
            for path in paths:
                page.goto(server.base + path)
                live(page)
                if path == "/positions/":
                    page.locator("[data-testid=expand]").first.click()
                    page.locator("[data-testid=legs]").wait_for(timeout=WAIT_MS)
                found += [f"{theme} {viewport['width']} {path} {v}" for v in axe_violations(page)]
                if path == "/positions/":
                    page.locator("[data-testid=expand]").first.click()
                    page.locator("[data-testid=legs]").wait_for(state="detached", timeout=WAIT_MS)
            context.close()
    anonymous = browser.new_context(bypass_csp=True)
    login = anonymous.new_page()
    login.goto(server.base + "/accounts/login/")
    found += [f"login {v}" for v in axe_violations(login)]
    anonymous.close()
    assert not found, "\n".join(found)


def test_times_show_in_the_browsers_zone_with_utc_on_hover(browser: Any, server: Engine) -> None:
    context = _admin(browser, server, timezone_id="Asia/Tokyo", locale="en-US")
    page = context.pages[0]
    page.goto(server.base + "/")
    live(page)
    moment = page.locator("time[data-local]").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+9", moment.inner_text()), moment.inner_text()
    assert moment.get_attribute("title").endswith(" UTC")
    assert "GMT+9" in page.inner_text("footer")
    page.goto(server.base + "/logs/")
    live(page)
    assert page.locator("label", has_text="From (GMT+9)").count() == 1
    assert page.get_by_label("From (GMT+9)").count() == 1  # the date picker is named with the zone
    assert page.input_value("input[name=tz]") == "Asia/Tokyo"
    assert page.locator("[data-testid=event] time[data-local]").first.inner_text().endswith("GMT+9")
    # A date picked in Tokyo time filters in Tokyo time: from tomorrow on, nothing yet.
    tomorrow = page.evaluate(
        "() => { const d = new Date(Date.now() + 864e5); "
        "return new Intl.DateTimeFormat('sv-SE', {timeZone: 'Asia/Tokyo', dateStyle: 'short'}).format(d) + 'T00:00'; }"
    )
    page.fill("input[name=since]", tomorrow)
    page.click("[data-testid=log-filters] button[type=submit]")
    page.wait_for_url(re.compile(r"since="))
    assert page.locator("[data-testid=event]").count() == 0
    assert page.locator("[data-testid=empty]").inner_text().startswith("No events match these filters")
    assert page.input_value("input[name=since]") == tomorrow  # shown back in the zone it was typed in
    context.close()


def test_filters_take_what_users_type_and_say_when_nothing_matches(browser: Any, server: Engine) -> None:
    context = _admin(browser, server)
    page = context.pages[0]

    def rows(path: str, selector: str) -> list[str]:
        page.goto(server.base + path)
        return [
            row.get_attribute("data-id") or row.get_attribute("data-group")
            for row in page.locator(selector).all()
        ]

    btc = rows("/logs/?symbol=BTC/USDT", "[data-testid=event]")
    assert btc and rows("/logs/?symbol=BTCUSDT", "[data-testid=event]") == btc
    assert rows("/logs/?q=BTCUSDT", "[data-testid=event]") == rows("/logs/?q=BTC/USDT", "[data-testid=event]")
    fifteen = rows("/positions/?timeframe=15m", "[data-testid=group-row]")
    assert fifteen and rows("/positions/?timeframe=15", "[data-testid=group-row]") == fifteen
    assert rows("/positions/?q=BTC/USDT", "[data-testid=group-row]") == rows(
        "/positions/?q=btcusdt", "[data-testid=group-row]"
    )
    page.goto(server.base + "/positions/?q=DOGEUSDT")
    assert page.inner_text("[data-testid=empty]") == "No position groups match these filters."
    page.goto(server.base + "/logs/?symbol=DOGEUSDT")
    assert page.locator("[data-testid=empty]").is_visible()
    context.close()


def test_log_auto_scroll_stops_when_scrolled_up_and_offers_the_latest(browser: Any, server: Engine) -> None:
    context = _admin(browser, server, viewport={"width": 1280, "height": 700})
    page = context.pages[0]
    page.goto(server.base + "/logs/")
    live(page)
    box = page.locator("#log-scroll")
    assert box.evaluate("el => el.scrollHeight > el.clientHeight + 100"), "not enough events to scroll"
    assert box.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight < 40")  # follows the tail
    box.evaluate("el => el.scrollTop = 0")
    page.wait_for_function("() => !document.getElementById('autoscroll').checked")
    jump = page.locator("[data-testid=jump-latest]")
    assert jump.is_visible()
    count = page.locator("[data-testid=event]").count()
    assert server.webhook("ADAUSDT", "0.5") == 202  # new events stream in below
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=event]').length > {count}", timeout=WAIT_MS
    )
    assert box.evaluate("el => el.scrollTop") == 0  # the reader was not yanked down
    jump.click()
    page.wait_for_function("() => document.getElementById('autoscroll').checked")
    assert box.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight < 40")
    assert jump.is_hidden()
    context.close()


def test_closed_groups_show_exit_close_time_and_realised_pnl(browser: Any, server: Engine) -> None:
    context = _admin(browser, server)
    page = context.pages[0]
    page.goto(server.base + "/positions/?status=closed")
    row = page.locator("[data-testid=group-row]", has_text="LTC/USDT")
    assert re.fullmatch(r"exit \d+\.\d{2}", row.locator("[data-testid=exit-price]").inner_text()), (
        row.inner_text()
    )
    assert row.locator("[data-testid=closed-at]").inner_text().startswith("closed ")
    assert re.fullmatch(r"[+-]?\$\d+\.\d{2}", row.locator("[data-testid=pnl]").inner_text())
    page.goto(server.base + "/positions/")
    btc = page.locator("[data-testid=group-row]", has_text="BTC/USDT")
    assert re.fullmatch(r"realised \+\$\d+\.\d{2}", btc.locator("[data-testid=realised]").inner_text())
    context.close()
