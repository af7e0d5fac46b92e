"""A hand edit of config.json reaches the running engine; a bad one is refused and said so."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from exchanges.accounts import Credentials, update_account
from exchanges.models import ExchangeAccount
from tests.factories import reset_config
from trading import config_service
from trading.engine.config_watch import ConfigWatch
from trading.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config_file_left_as_found():
    """config.json outlives the rolled-back database: leave no edit behind for the next module."""
    yield
    reset_config()


@pytest.fixture
def admin_client(db, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw-4711-admin"))
    return client


def edit_file(change: Callable[[dict[str, Any]], Any] | None = None, *, raw: str | None = None) -> None:
    """Rewrite config.json as an editor would, with an mtime that surely differs from the last one."""
    path = config_service.config_path()
    before = path.stat().st_mtime_ns
    if raw is None:
        document = json.loads(path.read_text())
        change(document)
        raw = json.dumps(document, indent=2)
    path.write_text(raw)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def settled(watch: ConfigWatch) -> None:
    """Two looks: the first sees the change, the second finds it unchanged and loads it."""
    watch.poll()
    watch.poll()


def test_a_hand_edit_is_loaded_and_the_engine_applies_it_at_its_next_tick(engine) -> None:
    watch = ConfigWatch(engine)
    version = config_service.current_version()
    assert engine.ctx.cfg.risk_engine.evaluate_interval_sec != 123

    edit_file(lambda doc: doc["risk_engine"].update(evaluate_interval_sec=123))
    settled(watch)
    engine.tick()

    assert config_service.current_version() == version + 1
    assert engine.ctx.cfg.risk_engine.evaluate_interval_sec == 123
    assert Event.objects.filter(message__contains=f"config v{version + 1} loaded from").exists()


def test_a_file_still_being_written_waits_until_it_stops_changing(engine) -> None:
    watch = ConfigWatch(engine)
    version = config_service.current_version()
    good = json.loads(config_service.config_path().read_text())
    good["risk_engine"]["evaluate_interval_sec"] = 77

    edit_file(raw='{"risk_engine": {"evaluate_inter')  # the editor's first write
    watch.poll()
    edit_file(raw=json.dumps(good))  # ... and its last
    watch.poll()
    assert config_service.current_version() == version  # not loaded yet: it just changed
    watch.poll()

    assert config_service.current_version() == version + 1
    assert config_service.current().risk_engine.evaluate_interval_sec == 77
    assert not Event.objects.filter(message__startswith="config.json edit refused").exists()


def test_an_invalid_edit_is_refused_with_an_event_and_the_last_good_config_stays(engine) -> None:
    watch = ConfigWatch(engine)
    version = config_service.current_version()
    in_force = engine.ctx.cfg

    edit_file(lambda doc: doc["risk_engine"].update(evaluate_interval_sec=-5))
    settled(watch)
    engine.tick()

    assert config_service.current_version() == version
    assert engine.ctx.cfg == in_force
    refused = Event.objects.get(message__startswith="config.json edit refused")
    assert refused.severity == Event.Severity.ERROR
    assert "risk_engine.evaluate_interval_sec: Input should be greater than or equal to" in refused.message


def test_the_refusal_and_its_reason_show_in_the_consoles_alert_bar(engine, admin_client) -> None:
    watch = ConfigWatch(engine)
    edit_file(lambda doc: doc["execution_pool"].update(max_open_groups="many"))
    settled(watch)

    page = admin_client.get("/").content.decode()
    assert "config.json edit refused" in page and "execution_pool.max_open_groups" in page


def test_a_broken_json_file_is_refused_once_not_at_every_poll(engine) -> None:
    watch = ConfigWatch(engine)
    edit_file(raw="{ not json")
    for _ in range(5):
        watch.poll()
    assert Event.objects.filter(message__startswith="config.json edit refused").count() == 1


def test_the_engines_own_save_does_not_bounce_back_as_a_new_version(engine) -> None:
    watch = ConfigWatch(engine)
    config_service.update({"risk_engine": {"evaluate_interval_sec": 45}}, source="console")
    version = config_service.current_version()

    settled(watch)
    settled(watch)

    assert config_service.current_version() == version
    assert not Event.objects.filter(message__contains="loaded from").exists()


def test_changed_account_keys_drop_the_engines_cached_adapter(engine) -> None:
    account = ExchangeAccount.objects.get(label="paper")
    watch = ConfigWatch(engine)
    cached = engine.ctx.adapter(account)
    assert watch.poll_accounts() == []

    update_account(
        account, Credentials(api_key="NEW-KEY-123456789"), rate_limit_mode="exchange", actor="test"
    )
    assert watch.poll_accounts() == [account.pk]

    assert engine.ctx.adapter(account) is not cached  # rebuilt from the new row
