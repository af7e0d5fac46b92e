"""The analytics page and the group chart in a real browser: trades made through webhooks and paper
prices, charts drawn on canvases from the API with the session, a filter changing them, CSV and PNG
downloads, the theme followed, no CSP violation, and screenshots (tests run in file order)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .conftest import ADMIN, Engine, axe_violations, csp_violations, live, running_engine, sign_in, wait_for

READY_MS = 30_000  # a deadline for a chart to draw, not a measurement (CI runs with both cores busy)
SUMMARY_CHARTS = ("daily-pnl", "returns", "heatmap")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    """A server of its own: the trades below are the only ones it has."""
    with running_engine() as engine:
        yield engine


def _closed_trades(engine: Engine) -> list[dict[str, Any]]:
    return engine.call("GET", "/api/v1/trades")[1]["items"]


def _group_id(engine: Engine, symbol: str) -> int:
    groups = engine.call("GET", "/api/v1/groups?status=open")[1]["items"]
    return next(g["id"] for g in groups if g["symbol"] == symbol)


@pytest.fixture(scope="module")
def trades(server: Engine) -> list[dict[str, Any]]:
    """Three closes on two markets, made as a trader would: a webhook opens each group (DCA0 fills at
    once, marketable), paper prices move through take-profit targets, and the BTC group is closed
    at market below its average entry (a loss). Equity is recorded every 10 s and at the close."""
    status, body = server.call("PUT", "/api/v1/config", {"analytics": {"snapshot_interval_sec": 10}})
    assert status == 200, body
    assert server.webhook("BTCUSDT", "43000") == 202
    assert server.webhook("ETHUSDT", "3000", timeframe="60") == 202

    def opened() -> bool:
        groups = server.call("GET", "/api/v1/groups?status=open")[1]["items"]
        return {"BTC/USDT", "ETH/USDT"} <= {g["symbol"] for g in groups}

    wait_for(opened, timeout=120, what="both groups to open")
    server.applied(server.price("BTCUSDT", "42780"))  # fills DCA1 (42785)
    server.applied(server.price("BTCUSDT", "43100"))  # through DCA1's take-profit
    server.applied(server.price("ETHUSDT", "3030"))  # through DCA0's take-profit
    server.applied(server.price("BTCUSDT", "42600"))  # below DCA0's 43000 entry
    status, body = server.call("POST", f"/api/v1/groups/{_group_id(server, 'BTC/USDT')}/close")
    assert status == 202, body
    server.applied(body["command_id"])
    found = wait_for(
        lambda: len(rows := _closed_trades(server)) >= 3 and rows,
        timeout=60,
        what="two take-profits and the market close",
    )

    def seconds_on_the_curve() -> int:  # the chart draws one point per second
        return len({p["at"][:19] for p in server.call("GET", "/api/v1/analytics/equity")[1]["points"]})

    wait_for(lambda: seconds_on_the_curve() >= 2, timeout=60, what="equity snapshots in two seconds")
    return found


@pytest.fixture(scope="module")
def admin(browser: Any, server: Engine, trades: list[dict[str, Any]]) -> Iterator[Any]:
    context = sign_in(browser, server, ADMIN)
    yield context
    context.close()


def _ready(page: Any, chart: str) -> None:
    """Wait until the chart has drawn data (the island marks its frame data-state=ready)."""
    page.wait_for_selector(
        f"[data-chart={chart}] [data-testid=chart-{chart}][data-state=ready]", timeout=READY_MS
    )


def _count(page: Any, chart: str) -> int:
    return int(page.get_attribute(f"[data-testid=chart-{chart}]", "data-count"))


def _count_becomes(page: Any, chart: str, count: int) -> None:
    """Wait until the chart has drawn `count` items (a timeout fails the test with the chart named)."""
    page.wait_for_function(
        "([chart, count]) => document.querySelector(`[data-testid=chart-${chart}]`)?.dataset.count === count",
        arg=[chart, str(count)],
        timeout=READY_MS,
    )


def test_analytics_draws_every_chart_from_real_trades(admin: Any, server: Engine) -> None:
    page = admin.new_page()
    violations = csp_violations(page)
    page.goto(server.base + "/analytics/")
    for chart in ("equity", *SUMMARY_CHARTS):
        _ready(page, chart)
    # lightweight-charts draws on canvases; the heatmap is a table with one cell per pair × timeframe.
    assert page.locator("[data-chart=equity] canvas").count() > 0
    assert page.locator("[data-chart=daily-pnl] canvas").count() > 0
    assert page.locator("[data-chart=returns] canvas").count() > 0
    assert _count(page, "heatmap") == 2
    assert _count(page, "equity") >= 2  # snapshots every 10 s and at the group's close
    assert {"BTC/USDT", "ETH/USDT"} <= set(page.inner_text("[data-chart=heatmap] table").split())
    assert "3 trades" in page.inner_text("[data-testid=analytics-cards]")
    assert violations == []
    page.close()


def test_a_filter_changes_every_widget(admin: Any, server: Engine) -> None:
    page = admin.new_page()
    page.goto(server.base + "/analytics/")
    _ready(page, "equity")
    before = _count(page, "heatmap")
    page.fill("input[name=symbol]", "ETHUSDT")
    page.click("[data-testid=apply-filters]")
    page.wait_for_url("**/analytics/?*symbol=ETHUSDT*")
    assert "symbol=ETHUSDT" in page.get_attribute("[data-chart=equity]", "data-src")
    # The old charts stay drawn (and "ready") until the island has read the new data-src: wait for
    # the filtered figures themselves, not for readiness alone.
    assert before > 1
    _count_becomes(page, "heatmap", 1)
    assert page.inner_text("[data-chart=heatmap] tbody th") == "ETH/USDT"
    # A market filter: the curve is ETH's realised PnL, one point for its one close.
    _count_becomes(page, "equity", 1)
    assert "1 trade" in page.inner_text("[data-testid=analytics-cards]")
    assert page.locator("[data-testid=by-pair] tbody tr").count() == 1
    page.close()


def test_csv_and_png_downloads(admin: Any, server: Engine, tmp_path: Path) -> None:
    page = admin.new_page()
    page.goto(server.base + "/analytics/?symbol=BTCUSDT")
    _ready(page, "equity")
    with page.expect_download() as pairs:
        page.click("[data-testid=export-pairs]")
    rows = list(csv.DictReader(io.StringIO(Path(pairs.value.path()).read_text())))
    assert [(r["key"], r["trades"], r["wins"], r["losses"]) for r in rows] == [("BTC/USDT", "2", "1", "1")]
    with page.expect_download() as equity:
        page.click("[data-testid=export-equity]")
    points = list(csv.DictReader(io.StringIO(Path(equity.value.path()).read_text())))
    assert points and set(points[0]) == {"at", "realised", "total", "drawdown_usd", "drawdown_percent"}
    for chart in ("equity", "daily-pnl", "returns"):
        _ready(page, chart)
        with page.expect_download() as png:
            page.click(f"[data-testid=png-{chart}]")
        today = datetime.now(UTC).date().isoformat()
        assert png.value.suggested_filename == f"{chart}-{today}.png"
        saved = tmp_path / png.value.suggested_filename
        png.value.save_as(saved)
        assert saved.read_bytes().startswith(PNG_MAGIC) and saved.stat().st_size > 1_000
    page.close()


def _background(page: Any, chart: str) -> list[int]:
    """The colour of a pixel near the top left of the chart's drawing, as RGB."""
    return page.evaluate(
        """(chart) => {
            const canvas = document.querySelector(`[data-chart=${chart}] canvas`);
            const pixel = canvas.getContext("2d").getImageData(4, 4, 1, 1).data;
            return [pixel[0], pixel[1], pixel[2]];
        }""",
        chart,
    )


def test_charts_follow_the_theme_and_screenshots(admin: Any, server: Engine, screenshot_dir: Path) -> None:
    page = admin.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server.base + "/analytics/")
    seen: dict[str, list[int]] = {}
    for theme in ("dark", "light"):
        if page.get_attribute("html", "data-theme") != theme:
            page.click("[data-testid=theme-toggle]")
            page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")
        _ready(page, "equity")
        if theme == "light":
            wait_for(lambda: _background(page, "equity") != seen["dark"], what="the chart to recolour")
        seen[theme] = _background(page, "equity")
        page.screenshot(path=str(screenshot_dir / f"analytics-{theme}.png"), full_page=True)
    assert seen["dark"] != seen["light"]
    assert sum(seen["light"]) > sum(seen["dark"])  # the light panel is lighter
    page.click("[data-testid=theme-toggle]")  # back to dark for whoever comes next
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.close()


def test_group_page_draws_its_price_chart_with_lines_and_markers(
    admin: Any, server: Engine, trades, screenshot_dir: Path
) -> None:
    group_id = next(t for t in trades if t["symbol"] == "BTC/USDT")["group_id"]
    status, chart = server.call("GET", f"/api/v1/groups/{group_id}/chart")
    assert status == 200, chart
    page = admin.new_page()
    violations = csp_violations(page)
    page.goto(server.base + f"/positions/{group_id}/")
    _ready(page, "group")
    assert page.locator("[data-chart=group] canvas").count() > 0
    assert 0 < _count(page, "group") <= len(chart["points"] or chart["candles"])  # one per second at most
    assert "BTC/USDT" in page.inner_text("[data-testid=chart-group] h2")
    assert violations == []
    page.locator(".group-chart").screenshot(path=str(screenshot_dir / "group-chart-dark.png"))
    page.close()


def test_a_new_close_reaches_the_open_page_live(admin: Any, server: Engine) -> None:
    page = admin.new_page()
    reads: list[str] = []
    page.on("request", lambda request: "/api/v1/analytics/" in request.url and reads.append(request.url))
    page.goto(server.base + "/analytics/")
    live(page)
    _ready(page, "equity")
    page.evaluate("window.__noReload = 'still here'")
    before = len(reads)
    # ETH's DCA1 (2985) fills, then its take-profit (+0.5 %) is crossed: a fourth close.
    server.applied(server.price("ETHUSDT", "2980"))
    server.applied(server.price("ETHUSDT", "3030"))
    wait_for(lambda: len(_closed_trades(server)) >= 4, what="the fourth close")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=analytics-cards]').textContent.includes('4 trades')",
        timeout=READY_MS,
    )
    wait_for(lambda: len(reads) > before, timeout=30, what="the charts to re-read the API")
    assert page.evaluate("() => window.__noReload === 'still here'")
    page.close()


def test_analytics_meets_wcag_aa_in_both_themes(browser: Any, server: Engine) -> None:
    # bypass_csp: axe is injected as a script tag (the console's CSP allows none).
    context = sign_in(browser, server, ADMIN, bypass_csp=True)
    page = context.pages[0]
    found: list[str] = []
    for theme in ("dark", "light"):
        page.goto(server.base + "/analytics/")
        if page.get_attribute("html", "data-theme") != theme:
            page.click("[data-testid=theme-toggle]")
            page.wait_for_function(f"() => document.documentElement.dataset.theme === '{theme}'")
        for chart in ("equity", *SUMMARY_CHARTS):
            _ready(page, chart)
        found += [f"{theme}: {v}" for v in axe_violations(page)]
    page.click("[data-testid=theme-toggle]")  # back to dark
    context.close()
    assert not found, "\n".join(found)
