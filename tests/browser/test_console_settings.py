"""The settings page in a real browser: edit a DCA level and watch the preview follow, review the diff,
apply, and see the running engine apply it; ui.font_size takes effect without a reload; screenshots
of the page in both themes (tests run in file order)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ADMIN,
    OPERATOR,
    Engine,
    axe_violations,
    csp_violations,
    live,
    running_engine,
    sign_in,
    wait_for,
)

WAIT_MS = 30_000
LEG1 = "#ladder-rows input[name='grid_strategy.dca_levels.1.gap_percent']"


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    with running_engine() as engine:
        engine.applied(engine.price("BTCUSDT", "43000"))  # the preview's sample entry price
        yield engine


def _preview_prices(page: Any) -> list[str]:
    return page.locator("[data-testid=preview-price-cell]").all_inner_texts()


def _settings(page: Any, server: Engine) -> None:
    page.goto(server.base + "/settings/")
    live(page)
    page.wait_for_selector("[data-testid=preview-leg]", timeout=WAIT_MS)


def _review_and_apply(page: Any, server: Engine) -> int:
    page.click("[data-testid=review]")
    page.wait_for_selector("[data-testid=apply]", timeout=WAIT_MS)
    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=review-applied]", timeout=WAIT_MS)
    return server.call("GET", "/api/v1/config")[1]["version"]


def test_edit_a_dca_level_see_the_preview_review_apply_and_the_engine_apply_it(
    admin: Any, server: Engine
) -> None:
    page = admin.new_page()
    violations = csp_violations(page)
    _settings(page, server)
    assert _preview_prices(page)[:2] == ["43000", "42785"]  # gap -0.5 % on BTC/USDT's 0.01 tick

    page.fill(LEG1, "-0.8")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=preview-price-cell]')].map(c => c.textContent.trim())[1] === '42656'",
        timeout=WAIT_MS,
    )
    page.click("[data-testid=review]")
    row = page.locator("[data-testid=diff] tr[data-field='grid_strategy.dca_levels[1].gap_percent']")
    row.wait_for(timeout=WAIT_MS)
    assert row.locator("td.old").inner_text() == "-0.5" and row.locator("td.new").inner_text() == "-0.8"

    page.click("[data-testid=apply]")
    page.wait_for_selector("[data-testid=review-applied]", timeout=WAIT_MS)
    version = server.call("GET", "/api/v1/config")[1]["version"]
    assert (
        server.call("GET", "/api/v1/config")[1]["config"]["grid_strategy"]["dca_levels"][1]["gap_percent"]
        == "-0.8"
    )
    # The engine applies it on its next tick; the page hears of it over its socket.
    page.wait_for_selector(f"#engine-applied[data-applied='{version}']", timeout=WAIT_MS)
    assert f"Engine applied v{version}" in page.inner_text("#engine-applied")
    wait_for(lambda: server.call("GET", "/api/v1/health")[1]["config_version"] == version, what="health")
    assert violations == []
    page.close()


def test_the_selection_priority_reorders_and_saves(admin: Any, server: Engine) -> None:
    page = admin.new_page()
    _settings(page, server)
    last = page.locator("#setting-waiting-rule-selection-priority-list li").last
    rule = last.get_attribute("data-choice")
    last.locator("button[title='Move up']").click()
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#setting-waiting-rule-selection-priority-list li')].slice(-2)[0].dataset.choice === '{rule}'",
        timeout=WAIT_MS,
    )
    _review_and_apply(page, server)
    saved = server.call("GET", "/api/v1/config")[1]["config"]["waiting_rule"]["selection_priority"]
    assert saved[-2] == rule
    page.close()


def test_font_size_takes_effect_without_a_reload(admin: Any, server: Engine) -> None:
    page = admin.new_page()
    _settings(page, server)
    page.select_option("select[name='ui.font_size']", "large")
    _review_and_apply(page, server)
    page.wait_for_function("() => document.documentElement.dataset.fontSize === 'large'", timeout=WAIT_MS)
    page.select_option("select[name='ui.font_size']", "medium")
    _review_and_apply(page, server)
    page.wait_for_function("() => document.documentElement.dataset.fontSize === 'medium'", timeout=WAIT_MS)
    page.close()


def test_the_operator_reads_the_settings_without_controls(browser: Any, server: Engine) -> None:
    context = sign_in(browser, server, OPERATOR)
    page = context.new_page()
    page.goto(server.base + "/settings/")
    assert page.locator("[data-testid=review]").count() == 0
    assert page.locator("input[name='app.instance_name']").is_disabled()
    context.close()


def test_the_settings_page_meets_wcag_aa_in_both_themes(browser: Any, server: Engine) -> None:
    found: list[str] = []
    for who in (ADMIN, OPERATOR):
        # bypass_csp: the test injects axe as a script tag (the console's CSP allows none).
        context = sign_in(browser, server, who, bypass_csp=True)
        page = context.new_page()
        _settings(page, server)
        for theme in ("dark", "light"):
            if page.get_attribute("html", "data-theme") != theme:
                page.click("[data-testid=theme-toggle]")
                page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")
            found += [f"{who[0]} {theme} {v}" for v in axe_violations(page)]
        page.click("[data-testid=theme-toggle]")
        page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
        context.close()
    assert not found, "\n".join(found)


def test_screenshots_of_the_settings_page_dark_and_light(
    admin: Any, server: Engine, screenshot_dir: Path
) -> None:
    page = admin.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    _settings(page, server)
    page.fill(LEG1, "-0.6")  # an edit under review, so the shot shows the diff too
    page.click("[data-testid=review]")
    page.wait_for_selector("[data-testid=apply]", timeout=WAIT_MS)
    for theme in ("dark", "light"):
        if page.get_attribute("html", "data-theme") != theme:
            page.click("[data-testid=theme-toggle]")
            page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")
        # A window as tall as the page: the sticky top and bottom bars stand where they belong.
        page.evaluate("() => window.scrollTo(0, 0)")
        page.set_viewport_size({"width": 1280, "height": page.evaluate("document.body.scrollHeight")})
        page.screenshot(path=str(screenshot_dir / f"settings-{theme}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        assert (screenshot_dir / f"settings-{theme}.png").stat().st_size > 10_000
    page.click("[data-testid=theme-toggle]")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.close()
