"""/settings/ against a running paper engine: an applied change is picked up on the next tick with
live groups kept, and the DCA preview prices the ladder on a real market's grid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from trading import config_service
from trading.models import DcaLeg, EngineState, GroupStatus

from .engine_world import BTC_LADDER_PRICES, BTC_LADDER_QTYS, group_of
from .test_console_settings import form_of, post

pytestmark = pytest.mark.django_db

DEFAULT_LADDER = [
    ("0", "20", "1"),
    ("-0.5", "20", "0.5"),
    ("-1", "20", "2"),
    ("-1.5", "20", "1.5"),
    ("-2", "20", "1"),
]


@pytest.fixture
def admin_client(db: Any) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "admin-pass-4711"))
    return client


def ladder_params(levels: list[tuple[str, str, str]], **sample: str) -> dict[str, str]:
    params = {"preview_account": "paper", "preview_symbol": "BTC/USDT", "preview_size": "500", **sample}
    for i, (gap, weight, tp) in enumerate(levels):
        params[f"grid_strategy.dca_levels.{i}.gap_percent"] = gap
        params[f"grid_strategy.dca_levels.{i}.weight_percent"] = weight
        params[f"grid_strategy.dca_levels.{i}.tp_percent"] = tp
    return params


def preview_cells(html: str, column: int) -> list[str]:
    rows = re.findall(r'<tr data-testid="preview-leg".*?</tr>', html, re.S)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)[column].strip() for row in rows]


def engine_applied(client: Client) -> str:
    html = client.get("/settings/").content.decode()
    return re.search(r'id="engine-applied".*?</div>', html, re.S).group(0)


def test_an_applied_change_is_picked_up_on_the_next_tick_and_live_groups_are_kept(
    driver, admin_client
) -> None:
    driver.send()
    group = group_of()
    legs_before = list(
        DcaLeg.objects.filter(group=group).order_by("index").values_list("id", "state", "price")
    )
    running = config_service.current_version()
    assert EngineState.objects.get(pk=1).config_version == running

    post(admin_client, "/settings/apply/", form_of(admin_client), execution_pool__max_open_groups="3")
    saved = config_service.current_version()
    assert saved == running + 1
    assert f"Waiting for the engine to apply v{saved}" in engine_applied(admin_client)

    driver.tick()
    assert EngineState.objects.get(pk=1).config_version == saved
    assert driver.engine.ctx.cfg.execution_pool.max_open_groups == 3
    assert f"Engine applied v{saved}" in engine_applied(admin_client)
    group.refresh_from_db()
    assert group.status == GroupStatus.PARTIALLY_FILLED
    legs_after = list(
        DcaLeg.objects.filter(group=group).order_by("index").values_list("id", "state", "price")
    )
    assert legs_after == legs_before


def test_the_preview_prices_the_ladder_like_the_engine_on_the_market_grid(engine, admin_client) -> None:
    html = admin_client.get(
        "/settings/preview/", ladder_params(DEFAULT_LADDER, preview_price="43000")
    ).content.decode()
    assert "Σ weight = 100 %" in html
    assert preview_cells(html, 2) == [str(p) for p in BTC_LADDER_PRICES]
    assert preview_cells(html, 3) == [str(q) for q in BTC_LADDER_QTYS]


def test_the_preview_shows_legs_below_the_market_minimum_merged(engine, admin_client) -> None:
    # 20 USDT in five legs is 4 USDT a leg, below BTC/USDT's 5 USDT minimum notional.
    params = ladder_params(DEFAULT_LADDER, preview_price="43000", preview_size="20")
    html = admin_client.get("/settings/preview/", params).content.decode()
    assert "merged into DCA" in html
    assert preview_cells(html, 3).count("–") >= 1


def test_the_preview_flags_a_weight_total_other_than_100(engine, admin_client) -> None:
    levels = [("0", "50", "1"), ("-1", "40", "1")]
    html = admin_client.get(
        "/settings/preview/", ladder_params(levels, preview_price="43000")
    ).content.decode()
    assert "Σ weight = 90 %" in html and "must be exactly 100" in html
    assert 'data-testid="preview-leg"' not in html


def test_the_preview_says_when_the_market_is_unknown(engine, admin_client) -> None:
    params = ladder_params(DEFAULT_LADDER, preview_price="1", preview_symbol="NOPE/USDT")
    assert (
        "NOPE/USDT is not a market the engine knows"
        in admin_client.get("/settings/preview/", params).content.decode()
    )


def test_adding_levels_stops_at_max_dca_per_pyramid(engine, admin_client) -> None:
    params = {**ladder_params(DEFAULT_LADDER), "grid_strategy.max_dca_per_pyramid": "6", "op": "add"}
    html = admin_client.get("/settings/ladder/", params).content.decode()
    assert html.count('data-testid="ladder-row"') == 6
    assert re.search(r'data-testid="ladder-add"[^>]*disabled', html)
    removed = admin_client.get("/settings/ladder/", {**params, "op": "remove:1"}).content.decode()
    assert removed.count('data-testid="ladder-row"') == 4
    assert 'value="-1"' in removed and 'value="-0.5"' not in removed
