"""What each page shows: figures formatted for humans, sorting, filtering, paging, legs in place."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.factories import T0, PositionGroupFactory, TradeFactory
from trading import config_service
from trading.models import EngineState, Event, PositionGroup

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_dashboard_shows_pool_queue_pnl_and_engine(admin_client: Client, book: dict[str, Any]) -> None:
    TradeFactory(
        group=book["group"], realized_pnl=Decimal("12.5"), qty=Decimal("0.01"), entry_price=Decimal("43000")
    )
    EngineState.objects.update_or_create(pk=1, defaults={"status": "paused", "paused": True})
    text = _text(body(admin_client.get("/")))
    assert "Active groups 1" in text
    assert "Pool usage 1 / 10" in text
    assert "Queued signals 1" in text
    # DCA0 holds 100 USDT bought at 43000; 42570 is 1 % lower: -1 USDT, minus 0.1 USDT entry fee.
    assert "unrealised -$1.10 (-1.10 %)" in text
    assert "realised +$12.50" in text
    assert "Total PnL +$11.40" in text
    assert "Engine Stopped" in text  # no heartbeat: the paused row is stale


def test_dashboard_banner_offers_resume_when_paused(admin_client: Client) -> None:
    EngineState.objects.update_or_create(
        pk=1, defaults={"paused": True, "status": "paused", "heartbeat_at": datetime.now(UTC)}
    )
    html = body(admin_client.get("/"))
    assert 'hx-post="/engine/resume/"' in html and 'hx-post="/engine/pause/"' not in html


def test_positions_table_shows_group_figures(admin_client: Client, book: dict[str, Any]) -> None:
    text = _text(body(admin_client.get("/positions/")))
    assert "BTC/USDT 15" in text
    assert "1/5" in text  # pyramids
    assert "-1.10 % -$1.10" in text
    assert "Partially filled" in text


def test_positions_are_paginated_sorted_and_filtered(admin_client: Client, book: dict[str, Any]) -> None:
    for i in range(60):
        PositionGroupFactory(symbol="ETH/USDT", timeframe=f"t{i}", side="short" if i % 2 else "long")
    first = body(admin_client.get("/positions/"))
    assert first.count('data-testid="group-row"') == 50
    assert "page 1 of 2" in first
    second = body(admin_client.get("/positions/?page=2"))
    assert second.count('data-testid="group-row"') == 11
    shorts = body(admin_client.get("/positions/?side=short"))
    assert shorts.count('data-testid="group-row"') == 30 and "side-long" not in shorts
    btc = body(admin_client.get("/positions/?q=btcusdt"))
    assert btc.count('data-testid="group-row"') == 1
    worst_first = body(admin_client.get("/positions/?sort=pnl&dir=asc"))
    first_row = re.search(r'data-group="(\d+)"', worst_first)
    assert first_row and int(first_row.group(1)) == book["group"].pk  # the only group with a loss
    # A bad value never breaks the page: it falls back to the default.
    assert admin_client.get("/positions/?sort=evil&page=-3&status=nope").status_code == 200


def test_an_htmx_request_gets_only_the_table_fragment(admin_client: Client, book: dict[str, Any]) -> None:
    html = body(admin_client.get("/positions/?sort=symbol", headers={"HX-Request": "true"}))
    assert html.lstrip().startswith('<section id="positions-table"')
    assert "<html" not in html


def test_a_row_expands_into_its_legs_and_stays_expanded(admin_client: Client, book: dict[str, Any]) -> None:
    group = book["group"]
    html = body(admin_client.get(f"/positions/{group.pk}/legs/", headers={"HX-Request": "true"}))
    assert html.lstrip().startswith(f'<tbody id="group-{group.pk}"')
    text = _text(html)
    for label in ("P0·DCA0", "P0·DCA1", "P0·DCA4"):
        assert label in text
    assert "Filled" in text and "Open" in text
    dca0 = book["legs"][0]
    dca0.refresh_from_db()
    assert f"${dca0.filled_qty * dca0.avg_fill_price:.2f}" in text  # DCA0's filled size in quote
    # The whole table, as a live push re-renders it, keeps the row open.
    assert 'data-testid="legs"' in body(admin_client.get("/positions/"))
    admin_client.get(f"/positions/{group.pk}/legs/?open=0")
    assert 'data-testid="legs"' not in body(admin_client.get("/positions/"))


def test_group_page_shows_pyramids_legs_and_orders(admin_client: Client, book: dict[str, Any]) -> None:
    text = _text(body(admin_client.get(f"/positions/{book['group'].pk}/")))
    assert "Pyramid P0" in text and "P0·DCA3" in text and "Orders" in text
    assert admin_client.get("/positions/999999/").status_code == 404


def test_risk_page_shows_loss_timer_and_the_inactive_plan(admin_client: Client, book: dict[str, Any]) -> None:
    PositionGroup.objects.filter(pk=book["group"].pk).update(risk_timer_started_at=T0, risk_blocked=True)
    html = body(admin_client.get("/risk/"))
    text = _text(html)
    assert "risk engine not active yet" in text.lower()
    assert 'data-testid="risk-inactive"' in html
    assert "-1.10 %" in text and "-$1.10" in text
    assert "blocked" in text and f'hx-post="/risk/{book["group"].pk}/unblock/"' in html
    assert "data-countdown" in html  # the wait timer counts down in the browser


def test_queue_page_ranks_entries(admin_client: Client, book: dict[str, Any]) -> None:
    text = _text(body(admin_client.get("/queue/")))
    assert "ETH/USDT 60" in text and "pool full" in text
    assert "$1.20" in text  # expected profit


def test_status_page_shows_accounts_engine_and_webhooks(
    admin_client: Client, book: dict[str, Any], settings: Any
) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    Event.objects.create(created_at=now, category="webhook", severity="info", message="webhook accepted")
    Event.objects.create(
        created_at=now, category="webhook", severity="warning", message="webhook rejected (401)"
    )
    Event.objects.create(
        created_at=now - timedelta(days=2), category="webhook", severity="info", message="old"
    )
    text = _text(body(admin_client.get("/status/")))
    assert "Webhooks, last 24 h 2 1 rejected" in text
    assert "paper" in text and "Connected (built-in paper)" in text
    assert f"Encryption key source {settings.FIELD_ENCRYPTION_KEY_SOURCE}" in text


def test_logs_page_filters_by_kind_and_search(admin_client: Client, book: dict[str, Any]) -> None:
    def rows(query: str) -> str:
        return body(admin_client.get("/logs/" + query)).split('<div id="event-rows"')[1]

    errors = rows("?kind=error")
    assert "order rejected by binance" in errors and "webhook accepted as signal" not in errors
    found = rows("?q=accepted+as")
    assert "webhook accepted as signal" in found and "order rejected by binance" not in found


def test_the_configured_pool_size_is_shown(admin_client: Client, book: dict[str, Any]) -> None:
    config_service.update({"execution_pool": {"max_open_groups": 3}}, source="test")
    assert "Pool usage 1 / 3" in _text(body(admin_client.get("/")))


def test_risk_page_and_dashboard_show_the_engines_plan(admin_client: Client, book: dict[str, Any]) -> None:
    from risk.models import RiskEngineState

    group = book["group"]
    winner = PositionGroupFactory(symbol="ETH/USDT", timeframe="60")
    report = {
        "evaluated_at": "2026-01-01T00:00:00+00:00",
        "groups": [
            {"group_id": group.pk, "eligible": True, "reasons": []},
            {"group_id": winner.pk, "eligible": False, "reasons": ["1 of 5 pyramids received"]},
        ],
        "offsets": {"count": 1, "total_usd": "25.5"},
        "plan": {
            "action": "close",
            "reason": "loser covered by 1 winner",
            "required_usd": "1.1",
            "covered_usd": "1.3",
            "net_usd": "0.2",
            "loser": {
                "group_id": group.pk,
                "fraction": "1",
                "full_close": True,
                "qty": "0.00232",
                "usd": "-1.1",
            },
            "winners": [
                {"group_id": winner.pk, "fraction": "0.1", "full_close": False, "qty": "0.01", "usd": "1.3"}
            ],
        },
    }
    RiskEngineState.objects.create(pk=1, status="active", reason="risk action #7: executed", report=report)
    text = _text(body(admin_client.get("/risk/")))
    assert "risk engine not active yet" not in text.lower()
    assert f"Loser BTC/USDT 15 #{group.pk} · full close · -$1.10" in text
    assert f"ETH/USDT 60 #{winner.pk} · partial, qty 0.01 · +$1.30" in text
    assert "Net +$0.20" in text and "eligible loser" in text and "1 of 5 pyramids received" in text
    assert "available winning offsets 1 ($25.50)" in text
    assert "Active" in _text(body(admin_client.get("/")))


def test_exchange_credentials_are_never_rendered(admin_client: Client) -> None:
    from exchanges.models import ExchangeAccount, Venue

    ExchangeAccount.objects.create(
        label="binance-main",
        venue=Venue.BINANCE,
        api_key="AKIA-very-secret-key",
        api_secret="s3cr3t-value-xyz",
    )
    html = body(admin_client.get("/status/"))
    assert "binance-main" in html and "API key set (hidden)" in html
    assert "AKIA-very-secret-key" not in html and "s3cr3t-value-xyz" not in html
