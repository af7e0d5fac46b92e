"""The trade history in a real browser: closes made through webhooks and paper prices appear on
/trades/, a filter typed the way TradingView writes it narrows them, and the CSV download holds the
filtered list; a screenshot for the docs (tests run in file order)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ADMIN, Engine, running_engine, sign_in, wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[Engine]:
    """A server of its own: the trades below are the only ones it has."""
    with running_engine() as engine:
        yield engine


def _closed_trades(engine: Engine) -> list[dict[str, Any]]:
    return engine.call("GET", "/api/v1/trades")[1]["items"]


@pytest.fixture(scope="module")
def trades(server: Engine) -> list[dict[str, Any]]:
    """Two take-profits on two markets: each webhook's DCA0 fills at once (marketable), BTC dips
    through DCA1 (42785) and comes back through its target, ETH rises through DCA0's target."""
    assert server.webhook("BTCUSDT", "43000") == 202
    assert server.webhook("ETHUSDT", "3000", timeframe="60") == 202

    def opened() -> bool:
        groups = server.call("GET", "/api/v1/groups?status=open")[1]["items"]
        return {"BTC/USDT", "ETH/USDT"} <= {g["symbol"] for g in groups}

    wait_for(opened, timeout=60, what="both groups to open")
    server.applied(server.price("BTCUSDT", "42780"))
    server.applied(server.price("BTCUSDT", "43100"))
    server.applied(server.price("ETHUSDT", "3030"))
    return wait_for(
        lambda: (
            len(rows := _closed_trades(server)) >= 2
            and {r["symbol"] for r in rows} == {"BTC/USDT", "ETH/USDT"}
            and rows
        ),
        timeout=60,
        what="a take-profit on each market",
    )


@pytest.fixture(scope="module")
def admin(browser: Any, server: Engine, trades: list[dict[str, Any]]) -> Iterator[Any]:
    context = sign_in(browser, server, ADMIN)
    yield context
    context.close()


def _rows(page: Any) -> list[str]:
    return page.eval_on_selector_all("[data-testid=trade-row]", "rows => rows.map(r => r.dataset.symbol)")


def test_trades_made_through_webhooks_appear_on_the_trade_history(admin: Any, server: Engine, trades) -> None:
    page = admin.new_page()
    page.goto(server.base + "/trades/")
    assert sorted(set(_rows(page))) == ["BTC/USDT", "ETH/USDT"]
    assert len(_rows(page)) == len(trades)
    assert page.get_attribute("nav a[href='/trades/']", "aria-current") == "page"
    assert "Leg TP" in page.inner_text("[data-testid=trades]")
    page.close()


def test_a_filter_narrows_the_trades_and_the_csv_holds_the_filtered_list(
    admin: Any, server: Engine, tmp_path: Path
) -> None:
    page = admin.new_page()
    page.goto(server.base + "/trades/")
    page.fill("[data-testid=trade-filters] input[name=symbol]", "ETHUSDT")  # TradingView's spelling
    page.fill("[data-testid=trade-filters] input[name=timeframe]", "60")
    page.click("[data-testid=trade-filters] button[type=submit]")
    page.wait_for_url("**/trades/?*symbol=ETHUSDT*")
    assert set(_rows(page)) == {"ETH/USDT"}
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert path.suffix == ".csv" and rows
    assert {(row["symbol"], row["timeframe"]) for row in rows} == {("ETH/USDT", "1h")}
    assert len(rows) == len(_rows(page))
    page.close()


def test_trades_screenshot(admin: Any, server: Engine, screenshot_dir: Path) -> None:
    page = admin.new_page()
    page.goto(server.base + "/trades/")
    page.wait_for_selector("[data-testid=trade-row]")
    assert page.get_attribute("html", "data-theme") == "dark"
    path = screenshot_dir / "trades-dark.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    page.close()
