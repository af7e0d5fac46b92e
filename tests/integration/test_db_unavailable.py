"""No database, no 500 page: the webhook and the API answer 503 JSON with Retry-After, then recover.

TradingView re-sends a webhook answered with a 5xx (after 5 s, up to 3 times), so a 503 during a
database outage is a delivery that is retried, and a re-send that did reach the inbox is a duplicate.
"""

from __future__ import annotations

import pytest

from tests.conftest import TEST_SECRET, configure, signal_payload
from tests.reliability.proxy import CuttableProxy
from tests.serving import free_port, wait_for
from tests.web_server import WebServer, on_postgres, shared_database_url

pytestmark = pytest.mark.e2e

WEBHOOK = "/webhooks/tradingview"


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    """daphne pointed at a PostgreSQL port where nothing listens."""
    closed = free_port()
    url = f"postgres://postgres@127.0.0.1:{closed}/tvengine_nowhere"
    server = WebServer(tmp_path_factory.mktemp("unreachable"), url, DB_POOL_TIMEOUT="1")
    try:
        yield server.start()
    finally:
        server.stop()


def assert_unavailable(reply) -> None:
    assert reply.status == 503, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["retry-after"] == "5"


def test_webhook_answers_503_json_with_retry_after_when_the_database_is_unreachable(unreachable):
    reply = unreachable.post_json(WEBHOOK, signal_payload())
    assert_unavailable(reply)
    assert reply.body["status"] == "unavailable"
    assert "database" in reply.body["error"]
    assert "127.0.0.1" not in reply.body["error"]  # no connection details for an anonymous caller


def test_api_answers_503_json_when_the_database_is_unreachable(unreachable):
    # Even the token check needs the database: that must be a 503 too, not a 500 page.
    reply = unreachable.get("/api/v1/signals", headers={"Authorization": "Bearer whatever"})
    assert_unavailable(reply)
    assert "database" in reply.body["detail"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not on_postgres(), reason="needs a PostgreSQL server to cut off (set DATABASE_URL)")
def test_webhook_answers_503_during_a_database_blip_and_accepts_again_after_it(tmp_path):
    from django.conf import settings

    from trading import config_service

    config_service.config_path().unlink(missing_ok=True)
    configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 0})
    db = settings.DATABASES["default"]
    proxy = CuttableProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    url = shared_database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    server = WebServer(tmp_path, url, DB_POOL_TIMEOUT="1").start()
    try:
        # The first connections may take longer than the 1 s pool timeout on a busy machine; a 503
        # stores nothing, so the same webhook is simply sent again.
        first = signal_payload(price="43000")
        wait_for(lambda: server.post_json(WEBHOOK, first).status == 202, timeout=60, what="a first 202")
        proxy.cut()  # every pooled connection dies; new ones are refused
        assert_unavailable(server.post_json(WEBHOOK, signal_payload(price="43001")))
        proxy.open()
        # The pool drops its dead connections (health check on checkout) and reconnects by itself.
        wait_for(
            lambda: server.post_json(WEBHOOK, signal_payload(price="43002")).status == 202,
            timeout=60,
            what="the webhook to accept again after the database came back",
        )
    finally:
        server.stop()
        proxy.close()
