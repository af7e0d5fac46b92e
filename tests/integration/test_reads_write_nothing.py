"""Reads never write: no console page, no GET endpoint and no admin page changes an engine-owned row.

The engine is the only writer of trading state. A read that built an engine context in the web
process once overwrote a live account's real `last_error` with "live prices are not fetched by the
web process"; the world here has exactly that account, so such a write shows up as a changed row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from exchanges.models import ExchangeAccount, LastPrice, MarketRule, MarketType, Venue
from risk.models import RiskEngineState
from tests.factories import (
    T0,
    ApiTokenFactory,
    CommandFactory,
    EventFactory,
    MarketRuleFactory,
    OrderFactory,
    PositionGroupFactory,
    PyramidFactory,
    QueueEntryFactory,
    SignalFactory,
    TradeFactory,
    build_ladder,
    fill_leg,
)
from trading import config_service
from trading.models import ApiToken, EngineState

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import pages

pytestmark = pytest.mark.django_db

REAL_ERROR = "AuthenticationError: binance {'code': -2015, 'msg': 'Invalid API-key'}"
# The API token's last use is the token's own bookkeeping, not trading state.
NOT_ENGINE_OWNED = {ApiToken}


def engine_owned_models() -> list[Any]:
    models = [m for name in ("trading", "exchanges", "risk") for m in apps.get_app_config(name).get_models()]
    return [m for m in models if m not in NOT_ENGINE_OWNED]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in engine_owned_models()}


@pytest.fixture
def world(book: dict[str, Any]) -> dict[str, Any]:
    """The console's book plus a live Binance account that has a real error, a blocked entry, a
    queued entry, an open group, a last price, market rules, trades, orders and the engine's rows."""
    config_service.current()
    live = ExchangeAccount.objects.create(
        label="binance-main",
        venue=Venue.BINANCE,
        market_type=MarketType.SPOT,
        last_error=REAL_ERROR,
        entries_blocked_reason="authentication failed",
    )
    MarketRuleFactory(account=live, symbol="SOL/USDT", exchange_symbol="SOLUSDT")
    MarketRuleFactory(account=book["group"].account)
    LastPrice.objects.create(account=live, symbol="ETH/USDT", price=Decimal("2290"), updated_at=T0)
    QueueEntryFactory(account=live, signal__symbol="SOL/USDT", signal__raw_symbol="SOLUSDT")
    QueueEntryFactory(
        account=live,
        signal__symbol="ETH/USDT",
        signal__raw_symbol="ETHUSDT",
        signal__entry_price=Decimal("2300"),
    )
    live_group = PositionGroupFactory(account=live, symbol="ETH/USDT", timeframe="1h")
    legs = build_ladder(PyramidFactory(group=live_group, base_price=Decimal("2300")))
    fill_leg(legs[0])
    OrderFactory(group=live_group, leg=legs[0], account=live, symbol="ETH/USDT")
    TradeFactory(group=book["group"])
    SignalFactory(status="rejected", reason="rejected: unknown symbol FOOUSDT on binance")
    EventFactory(severity="error", message="binance: Invalid API-key")
    command = CommandFactory(kind="pause", status="applied", result="engine paused", applied_at=T0)
    EngineState.objects.update_or_create(pk=1, defaults={"status": "running", "heartbeat_at": T0})
    RiskEngineState.objects.update_or_create(pk=1, defaults={"status": "idle", "reason": "no loser"})
    return {**book, "live": live, "live_group": live_group, "command": command}


def console_pages(world: dict[str, Any]) -> list[str]:
    live_group = world["live_group"].pk
    return [
        *pages(world),
        f"/positions/{live_group}/",
        f"/positions/{live_group}/legs/",
        "/positions/?status=all&sort=pnl",
        "/positions/?q=ETHUSDT&timeframe=60",
        "/logs/?symbol=BTCUSDT&timeframe=15",
    ]


def api_reads(api: Client, world: dict[str, Any]) -> list[str]:
    """Every GET path in the API's own description, with real ids filled in."""
    ids = {
        "{group_id}": world["live_group"].pk,
        "{signal_id}": world["signal"].pk,
        "{command_id}": world["command"].pk,
    }
    paths = []
    for path, operations in api.get("/api/v1/openapi.json").json()["paths"].items():
        if "get" in operations:
            for name, value in ids.items():
                path = path.replace(name, str(value))
            assert "{" not in path, f"no id for {path}: add it to this test"
            paths.append(path)
    return [*paths, "/api/v1/queue?symbol=SOLUSDT", "/api/v1/groups?symbol=ETH-USDT&timeframe=60"]


def admin_reads() -> list[str]:
    urls = []
    for model in engine_owned_models():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        try:
            urls.append(reverse(name))
        except Exception:  # noqa: BLE001 - not every model is in the admin
            continue
        row = model.objects.order_by("pk").first()
        if row is not None:
            change = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
            urls.append(reverse(change, args=[row.pk]))
    return urls


def test_reads_never_write_engine_owned_rows(admin_client: Client, world: dict[str, Any]) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    before = snapshot()

    for url in console_pages(world):
        assert admin_client.get(url).status_code == 200, url
        assert admin_client.get(url, headers={"HX-Request": "true"}).status_code == 200, url
    for url in api_reads(api, world):
        assert api.get(url).status_code == 200, url
    for url in admin_reads():
        assert admin_client.get(url).status_code == 200, url

    after = snapshot()
    changed = {label: after[label] for label in before if after[label] != before[label]}
    assert changed == {}, f"a read changed engine-owned rows: {sorted(changed)}"


def test_reading_the_queue_keeps_a_live_accounts_real_error(
    admin_client: Client, world: dict[str, Any]
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")

    items = api.get("/api/v1/queue").json()["items"]
    admin_client.get("/queue/")

    world["live"].refresh_from_db()
    assert world["live"].last_error == REAL_ERROR
    # Ranked with the price the engine persisted: ETH has one (rank 1 by loss), SOL has none (last).
    live_rows = [(r["symbol"], r["loss_percent"]) for r in items if r["account"] == "binance-main"]
    assert live_rows == [("ETH/USDT", "-0.4348"), ("SOL/USDT", None)]
    assert MarketRule.objects.filter(account=world["live"]).count() == 1
