"""The dashboard's balance cards: balance, free vs deployed capital, realised PnL today; a live
venue's free funds are "not reported" (never 0); the cards re-render on a live push."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client

from dashboard.data.state import ViewState
from dashboard.panels import render_changes
from exchanges.paper_models import PaperBalance
from tests.factories import ExchangeAccountFactory, PositionGroupFactory, TradeFactory
from trading.models import GroupStatus

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

D = Decimal
pytestmark = pytest.mark.django_db


def _card(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)  # up to the first end tag
    assert match, testid
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _paper_cash(book: dict[str, Any], free: str, locked: str) -> None:
    PaperBalance.objects.update_or_create(
        account=book["group"].account, asset="USDT", defaults={"free": D(free), "locked": D(locked)}
    )


def test_balance_is_free_plus_resting_plus_deployed(admin_client: Client, book: dict[str, Any]) -> None:
    # The book's open group holds DCA0: 0.00232 BTC (100 USDT floored to the step) bought at 43000.
    _paper_cash(book, "9500", "400")
    html = body(admin_client.get("/"))
    assert _card(html, "deployed-capital") == "$99.76"  # 0.00232 × 43000
    assert _card(html, "balance") == "$9,999.76"  # 9500 + 400 + 99.76
    assert _card(html, "free-capital") == "$9,500.00"
    assert "1.00 % deployed" in html and "$400.00 in resting orders" in html


def test_realised_today_counts_only_trades_closed_since_midnight_utc(admin_client: Client, book) -> None:
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    group = PositionGroupFactory(account=book["group"].account, status=GroupStatus.CLOSED)
    TradeFactory(group=group, realized_pnl=D("2.25"), closed_at=midnight)
    TradeFactory(group=group, realized_pnl=D("-0.5"), closed_at=now)
    TradeFactory(group=group, realized_pnl=D("100"), closed_at=midnight - timedelta(microseconds=1))
    html = body(admin_client.get("/"))
    assert _card(html, "realised-today") == "+$1.75"
    assert "2 closes since 00:00 UTC" in html


def test_live_venue_free_funds_are_not_reported_rather_than_zero(admin_client: Client, db) -> None:
    ExchangeAccountFactory(label="binance-live", venue="binance")
    html = body(admin_client.get("/"))
    assert _card(html, "balance") == "not reported"
    assert _card(html, "free-capital") == "not reported"
    assert '$0.00</span> <span class="muted">free' not in html


def test_balance_cards_rerender_on_a_live_push(admin_user, book: dict[str, Any]) -> None:
    _paper_cash(book, "900", "0")
    view = ViewState(user=admin_user, params=QueryDict(""))
    pushed = render_changes("overview", view, {"groups"})
    assert 'id="balance"' in pushed and 'hx-swap-oob="morph"' in pushed
    assert _card(pushed, "balance") == "$999.76"  # 900 free + 99.76 deployed
