"""What the server renders so the console can be trusted at a glance (issue #13): the engine's real
state, numbers on the market's grid, totals that add up as shown, closed groups, funds and blocked
entries, filters in the browser's zone, and the small things (favicon, 403s, the admin's wording)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from exchanges.models import ExchangeAccount
from exchanges.paper_models import PaperBalance, PaperPrice
from tests.factories import T0, EventFactory, MarketRuleFactory, PositionGroupFactory, TradeFactory, fill_leg
from trading.models import EngineState, GroupStatus

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _engine(status: str, heartbeat_age: timedelta | None) -> None:
    heartbeat = None if heartbeat_age is None else datetime.now(UTC) - heartbeat_age
    EngineState.objects.update_or_create(pk=1, defaults={"status": status, "heartbeat_at": heartbeat})


# --- item 1: the engine's real state -------------------------------------------------------------


def test_a_silent_engine_that_never_said_stop_is_not_responding(admin_client: Client) -> None:
    _engine("running", timedelta(seconds=45))
    html = body(admin_client.get("/"))
    text = _text(html)
    assert "Engine not responding" in text
    assert 'data-engine="unresponsive"' in html and "state-unresponsive" in html
    assert re.search(r'data-testid="risk-badge">Stopped<', html)  # the risk engine runs inside it
    # Pause cannot pause what is not running: shown, disabled, not posting.
    assert 'hx-post="/engine/pause/"' not in html and re.search(r'data-testid="pause" disabled', html)


def test_a_cleanly_stopped_engine_is_stopped_and_a_fresh_one_running(admin_client: Client) -> None:
    _engine("stopped", timedelta(seconds=45))
    assert "Engine Stopped" in _text(body(admin_client.get("/")))
    _engine("running", timedelta(seconds=1))
    html = body(admin_client.get("/"))
    assert "Engine Running" in _text(html) and 'hx-post="/engine/pause/"' in html
    assert re.search(r'data-testid="risk-badge">Idle<', html)


# --- item 4: numbers on the market's grid --------------------------------------------------------


def test_prices_sit_on_the_tick_and_quantities_on_the_step(
    admin_client: Client, book: dict[str, Any]
) -> None:
    group = book["group"]
    MarketRuleFactory(
        account=group.account, symbol="BTC/USDT", tick_size=Decimal("0.01"), step_size=Decimal("0.00001")
    )
    dca0, dca1 = book["legs"][0], book["legs"][1]
    dca0.tp_price = Decimal("42998.925")  # finer than the tick, as a TP computed from a fill is
    dca0.save(update_fields=["tp_price"])
    fill_leg(dca1, Decimal("42785"))  # two fills: the average entry is no longer on the grid
    admin_client.get(f"/positions/{group.pk}/legs/")
    html = body(admin_client.get("/positions/"))
    text = _text(html)
    # A long's TP is a sell: the first tick that reaches 42998.925 is 42998.93.
    assert "42998.93" in text and "42998.925" not in text
    avg = re.search(r'data-testid="avg-entry">([^<]+)<', html)
    assert avg and re.fullmatch(r"\d+\.\d{2}", avg.group(1)), avg
    assert "43000.00" in text and "42785.00" in text  # limits with the tick's two decimals
    assert f"{dca0.qty:.5f}/{dca0.qty:.5f}" in text  # quantities with the step's five
    assert "20.00 %" in text  # weights and percentages: two decimals


def test_without_market_rules_a_price_gets_decimals_by_its_size(
    admin_client: Client, book: dict[str, Any]
) -> None:
    text = _text(body(admin_client.get("/queue/")))
    assert "43000.00" in text  # the ETH entry, no rules cached: 2 decimals above 1,000


def test_total_pnl_is_the_sum_of_the_figures_shown(admin_client: Client, book: dict[str, Any]) -> None:
    leg = book["legs"][0]
    # Unrealised −1.0948 (shown −$1.09) and realised 12.506 (shown +$12.51): the exact total 11.4112
    # would show as $11.41, but the page must show what its two figures add up to, $11.42.
    price = leg.avg_fill_price + (Decimal("-1.0948") + leg.entry_fees) / leg.filled_qty
    PaperPrice.objects.filter(symbol="BTC/USDT").update(price=price.quantize(Decimal("1E-10")))
    TradeFactory(group=book["group"], realized_pnl=Decimal("12.506"))
    text = _text(body(admin_client.get("/")))
    realised = re.search(r"realised \+\$([\d.]+)", text)
    unrealised = re.search(r"unrealised -\$([\d.]+)", text)
    total = re.search(r"Total PnL \+\$([\d.]+)", text)
    assert realised and unrealised and total
    assert (realised.group(1), unrealised.group(1), total.group(1)) == ("12.51", "1.09", "11.42")


# --- item 9: closed groups and realised PnL ------------------------------------------------------


def test_a_closed_group_shows_its_exit_close_time_and_realised_pnl(admin_client: Client) -> None:
    group = PositionGroupFactory(
        symbol="ETH/USDT",
        status=GroupStatus.CLOSED,
        closed_at=T0 + timedelta(hours=2),
        realized_pnl=Decimal("3.5"),
    )
    TradeFactory(group=group, qty=Decimal("0.1"), entry_price=Decimal("2300"), exit_price=Decimal("2330"))
    TradeFactory(group=group, qty=Decimal("0.1"), entry_price=Decimal("2300"), exit_price=Decimal("2340"))
    html = body(admin_client.get("/positions/?status=closed"))
    text = _text(html)
    assert "exit 2335.00" in text  # quantity-weighted; no rules cached: 2 decimals above 1,000
    assert "+$3.50" in text and "+0.76 %" in text  # 3.5 of 460 entry cost
    assert 'data-testid="closed-at">closed' in html


def test_an_open_group_shows_what_its_take_profits_realised(
    admin_client: Client, book: dict[str, Any]
) -> None:
    book["group"].realized_pnl = Decimal("0.1580422")
    book["group"].save(update_fields=["realized_pnl"])
    TradeFactory(group=book["group"])
    assert "realised +$0.16" in _text(body(admin_client.get("/positions/")))


# --- item 10: funds and blocked entries ----------------------------------------------------------


def test_the_dashboard_shows_free_and_deployed_funds_per_account(
    admin_client: Client, book: dict[str, Any]
) -> None:
    account = book["group"].account
    PaperBalance.objects.update_or_create(account=account, asset="USDT", defaults={"free": Decimal("9900.5")})
    ExchangeAccount.objects.create(label="binance-main", venue="binance")
    text = _text(body(admin_client.get("/")))
    cost = book["legs"][0].filled_qty * book["legs"][0].avg_fill_price
    assert f"paper Paper (built-in) $9,900.50 ${cost:,.2f} 1 open" in text
    assert "binance-main Binance not reported $0.00 0 open" in text


def test_blocked_entries_show_as_a_badge_on_every_page(admin_client: Client, book: dict[str, Any]) -> None:
    ExchangeAccount.objects.filter(pk=book["group"].account_id).update(entries_blocked_reason="funds ran out")
    for url in ("/", "/positions/", "/queue/", "/logs/"):
        html = body(admin_client.get(url))
        assert 'data-testid="entries-blocked"' in html and "entries stopped · paper" in html, url
    assert 'data-testid="entries-stopped"' in body(admin_client.get("/"))


# --- items 5 and 6: times and filters --------------------------------------------------------------


def test_log_dates_are_read_in_the_browsers_zone(admin_client: Client) -> None:
    EventFactory(message="at ten UTC", created_at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC))

    def shown(since: str) -> bool:
        html = body(admin_client.get("/logs/", {"since": since, "tz": "Asia/Tokyo"}))
        return "at ten UTC" in html.split('<div id="event-rows"')[1]

    assert shown("2026-01-01T18:30")  # 09:30 UTC
    assert not shown("2026-01-01T19:30")  # 10:30 UTC
    html = body(admin_client.get("/logs/", {"since": "2026-01-01T19:30", "tz": "Asia/Tokyo"}))
    assert 'value="2026-01-01T19:30"' in html  # shown back as typed
    assert "No events match these filters." in html
    assert "unknown time zone" in body(admin_client.get("/logs/", {"tz": "Mars/Olympus"}))


def test_times_render_for_the_browser_with_utc_in_the_title(admin_client: Client) -> None:
    EventFactory(message="stamped", created_at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC))
    html = body(admin_client.get("/logs/"))
    assert re.search(
        r'<time datetime="2026-01-01T10:00:00\+00:00" data-local title="2026-01-01 10:00:00 UTC">', html
    )


def test_the_log_search_finds_a_pair_in_any_spelling(admin_client: Client) -> None:
    EventFactory(message="filled", symbol="BTC/USDT")
    EventFactory(message="other", symbol="ETH/USDT")
    for text in ("BTCUSDT", "BTC/USDT", "btc"):
        rows = body(admin_client.get("/logs/", {"q": text})).split('<div id="event-rows"')[1]
        assert "filled" in rows and "other" not in rows, text


# --- item 11: small things -------------------------------------------------------------------------


def test_the_operator_sees_no_actions_column(
    operator_client: Client, admin_client: Client, book: dict[str, Any]
) -> None:
    for url in ("/positions/", "/queue/", "/risk/"):
        assert ">Actions</th>" not in body(operator_client.get(url)), url
        assert ">Actions</th>" in body(admin_client.get(url)), url


def test_the_admin_says_queue_entries(admin_client: Client) -> None:
    html = body(admin_client.get("/admin/"))
    assert "Queue entries" in html and "Queue entrys" not in html


def test_a_favicon_is_served_at_the_root(admin_client: Client) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_an_operators_refused_action_logs_one_line(operator_client: Client, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = operator_client.post("/engine/pause/")
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1 and records[0].exc_info is None
    assert records[0].getMessage() == "Forbidden: /engine/pause/"
