"""Shared test world: a paper engine driven tick by tick with an injected clock."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, settings

TEST_SECRET = "test-webhook-secret"

# Property tests judge results, never speed: hypothesis's default 200 ms deadline per example (and
# its "too slow" health check) are timed assertions, and CI runs them with both cores busy, where
# a plain example can take longer. Tests may still set their own settings on top of these.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# Fixtures through which a test reaches the suite's database (pytest-django's, and `live_server`).
_DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}
# Where a test that does not ask for the database cannot reach it by another way either: pure unit
# tests, and end-to-end tests, whose `manage.py run` always gets its own SQLite (tests/e2e/process.py).
_NO_DATABASE_DIRS = ("tests/unit/", "tests/e2e/")


def _uses_suite_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        _DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def _same_on_any_database(item: pytest.Item) -> bool:
    if _uses_suite_database(item):
        return False
    if item.get_closest_marker("database_independent") is not None:
        return True
    path = item.nodeid.split("::", 1)[0]
    return path.startswith(_NO_DATABASE_DIRS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests whose outcome cannot depend on the database: they ran in
    the SQLite run (`.ci/run` runs both), and running them twice only lengthens CI. Set
    TESTS_ON_POSTGRES=all to run them here too (a PostgreSQL-only checkout)."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    if not on_postgres or os.environ.get("TESTS_ON_POSTGRES") == "all":
        return
    left_out = [item for item in items if _same_on_any_database(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _same_on_any_database(item)]


@dataclass
class TestClock:
    """Aware UTC time that only moves when a test says so."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture(autouse=True)
def _config_checked_afresh() -> None:
    """The webhook path may skip the config's version check for a second (config_service.current);
    a test's database is rolled back, so the next test must look again. (Not in the browser tests:
    they run without Django in this process.)"""
    from django.apps import apps

    if apps.ready:
        from trading import config_service

        config_service.forget_checked()


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


def configure(**sections: dict[str, Any]) -> None:
    """Apply a partial config through the real config service (validated, saved, file rewritten)."""
    from trading import config_service

    config_service.update(sections, source="test")


@pytest.fixture
def engine(db, clock):
    """A started engine (no process lock) on the paper account with the real Binance markets."""
    from trading import config_service
    from trading.bootstrap import prepare
    from trading.engine.context import EngineContext
    from trading.engine.loop import Engine

    # config.json outlives the rolled-back database: without this, one test's config leaks into the next.
    config_service.config_path().unlink(missing_ok=True)
    prepare(migrate=False)
    configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 0})
    eng = Engine(EngineContext(clock=clock), use_lock=False)
    eng.start()
    return eng


class Driver:
    """What a trader does: send webhooks, move the paper price, and let the engine run."""

    def __init__(self, engine, client: Client) -> None:
        self.engine = engine
        self.client = client

    def webhook(self, *, raw: bytes | None = None, content_type: str = "application/json", **fields: Any):
        body = raw if raw is not None else json.dumps(signal_payload(**fields)).encode()
        return self.client.post("/webhooks/tradingview", data=body, content_type=content_type)

    def tick(self, times: int = 1):
        report = None
        for _ in range(times):
            self.engine._last_sync = None  # every test tick also syncs orders and sweeps TP
            report = self.engine.tick()
        return report

    def send(self, **fields: Any):
        """Post a webhook and let the engine apply it."""
        response = self.webhook(**fields)
        assert response.status_code in (200, 202), response.content
        self.tick()
        return response

    def price(self, symbol: str, price: str | Decimal) -> None:
        from trading.models import Command

        Command.objects.create(
            kind="paper_price",
            args={"symbol": symbol, "price": str(price), "account": "paper"},
            created_at=self.engine.ctx.now(),
        )
        self.tick()


@pytest.fixture
def driver(engine, client) -> Driver:
    return Driver(engine, client)


def signal_payload(
    *,
    symbol: str = "BTCUSDT",
    exchange: str = "BINANCE",
    timeframe: str = "15",
    intent: str = "signal",
    side: str | None = "buy",
    price: str | None = "43000",
    size: str | None = "500",
    size_type: str = "quote",
    secret: str = TEST_SECRET,
    trade_id: str | None = None,
    timestamp: str | None = None,
    prev_market_position: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    tv: dict[str, Any] = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
    if price is not None:
        tv["entry_price"] = price
    if size is not None:
        tv["order_size"] = size
    if prev_market_position is not None:
        tv["prev_market_position"] = prev_market_position
    intent_block: dict[str, Any] = {"type": intent, "position_size_type": size_type}
    if side is not None:
        intent_block["side"] = side
    payload: dict[str, Any] = {
        "secret": secret,
        "source": "tradingview",
        "tv": tv,
        "execution_intent": intent_block,
    }
    if trade_id is not None:
        payload["strategy_info"] = {"trade_id": trade_id}
    if timestamp is not None:
        payload["timestamp"] = timestamp
    payload.update(extra)
    return payload
