"""Identical payloads without a trade id, sent at the same moment, are accepted once: the database decides.

A real web process and real concurrent HTTP clients: a read-then-insert check in Python passes this
test only by luck, so it has to fail on such code, and does.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from tests.conftest import TEST_SECRET, configure, signal_payload
from tests.web_server import WebServer, all_at_once, on_postgres, shared_database_url
from trading.models import Signal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COPIES = 200


@pytest.fixture
def web(tmp_path):
    if on_postgres():
        from trading import config_service

        # The server reads this committed config from the shared test database (transaction=True).
        config_service.config_path().unlink(missing_ok=True)
        configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 0})
        # The copies queue on one claim row, each holding a pooled connection meanwhile: on a busy
        # machine the last waits longer than the default 2.5 s for a connection. Exactly-once is
        # under test here, not speed.
        server = WebServer(tmp_path, shared_database_url(), DB_POOL_TIMEOUT="60")
    else:
        server = WebServer(tmp_path, None, ENGINE_WEBHOOK_SECRET=TEST_SECRET)
    try:
        yield server.start()
    finally:
        server.stop()


def stored_statuses(server: WebServer) -> Counter:
    if on_postgres():
        return Counter(Signal.objects.values_list("status", flat=True))
    with sqlite3.connect(server.sqlite_path) as db:
        return Counter(status for (status,) in db.execute("SELECT status FROM trading_signal"))


def test_identical_payloads_sent_at_once_are_accepted_exactly_once(web):
    payload = signal_payload()  # no trade id and no timestamp: only the identical-payload rule applies
    replies = all_at_once([lambda: web.post_json("/webhooks/tradingview", payload)] * COPIES)
    assert Counter(reply.status for reply in replies) == {202: 1, 200: COPIES - 1}, web.log()
    original = next(reply.body["signal_id"] for reply in replies if reply.status == 202)
    assert {(r.body["status"], r.body["signal_id"]) for r in replies if r.status == 200} == {
        ("duplicate", original)
    }
    assert stored_statuses(web) == {"received": 1, "duplicate": COPIES - 1}
