"""POST /webhooks/tradingview: the fast path into the inbox, and every refusal a 4xx with a JSON reason."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.conftest import TEST_SECRET, configure, signal_payload
from trading.models import Signal, SignalStatus

from .webhook_support import URL, events_since, last_event_id, post, trading_state

pytestmark = pytest.mark.django_db


def assert_only_a_rejection_event_was_written(before: dict[str, int], event_id: int) -> None:
    assert Signal.objects.count() == 0
    assert trading_state() == before
    [event] = events_since(event_id)
    assert event.category == "webhook"
    assert "rejected" in event.message


def test_accepted_webhook_answers_202_and_persists_exactly_one_received_signal(
    engine, client, django_assert_max_num_queries
):
    before = trading_state()
    with django_assert_max_num_queries(12):  # validate, store, answer: no engine work in the request
        response = post(client)
    assert response.status_code == 202
    signal = Signal.objects.get()
    assert response.json() == {"status": "accepted", "signal_id": signal.pk}
    assert signal.status == SignalStatus.RECEIVED
    assert (signal.raw_symbol, signal.symbol, signal.exchange) == ("BTCUSDT", "BTC/USDT", "binance")
    assert (signal.intent, signal.side) == ("signal", "long")
    assert trading_state() == before  # groups, orders and the queue are the engine's to write


def _statements(queries: list[dict]) -> list[str]:
    """The SQL a request ran, without transaction control (the test's own wrapping transaction turns
    the view's BEGIN/COMMIT into SAVEPOINT/RELEASE)."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith(control)]


def test_an_accepted_webhook_runs_at_most_three_statements(engine, client, monkeypatch):
    from types import SimpleNamespace

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading import config_service

    # The config's version is re-read once CONFIG_RECHECK_SEC has passed: on a loaded machine the two
    # requests can be that far apart. The clock the cache reads stands still here; the re-read is
    # the next test's.
    monkeypatch.setattr(config_service, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    post(
        client, signal_payload(trade_id="warm-up")
    )  # the first request reads the config into this process's cache
    with CaptureQueriesContext(connection) as captured:
        response = post(client, signal_payload(trade_id="measured"))
    assert response.status_code == 202
    statements = _statements(captured.captured_queries)
    # The payload claim, the inbox row and its event: no engine-state UPDATE, no config query.
    assert len(statements) <= 3, statements
    assert not any("trading_enginestate" in sql or "trading_configdocument" in sql for sql in statements)


def test_a_rejected_webhook_writes_only_its_event(engine, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post(client, signal_payload(trade_id="warm-up"))
    with CaptureQueriesContext(connection) as captured:
        response = post(client, signal_payload(secret="wrong"))
    assert response.status_code == 401
    statements = _statements(captured.captured_queries)
    assert len(statements) == 1 and "trading_event" in statements[0], statements


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_both_spellings_of_the_url_answer_202_without_a_redirect(engine, client, path):
    response = post(client, path=path)
    assert response.status_code == 202
    assert not response.has_header("Location")
    assert Signal.objects.count() == 1


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_other_methods_get_405_with_allow_post(engine, client, path):
    for response in (client.get(path), client.put(path, data=b"{}", content_type="application/json")):
        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert response.json()["status"] == "rejected"
    assert Signal.objects.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8"])
def test_text_plain_body_holding_json_is_accepted(engine, client, content_type):
    response = post(client, content_type=content_type)
    assert response.status_code == 202
    assert Signal.objects.get().raw_symbol == "BTCUSDT"


def test_numbers_sent_as_strings_are_read_exactly(engine, client):
    payload = signal_payload(price="43000.5", size="250.75", risk={"max_slippage_percent": "0.5"})
    assert post(client, payload).status_code == 202
    signal = Signal.objects.get()
    assert signal.entry_price == Decimal("43000.5")
    assert signal.order_size == Decimal("250.75")
    assert signal.max_slippage_percent == Decimal("0.5")


def test_unquoted_json_numbers_are_read_exactly_and_stored_as_their_text(engine, client):
    body = json.dumps(signal_payload()).replace('"43000"', "43000.10").replace('"500"', "500")
    assert post(client, raw=body.encode()).status_code == 202
    signal = Signal.objects.get()
    assert signal.entry_price == Decimal("43000.10")
    assert signal.order_size == Decimal("500")
    # A JSON column cannot hold a Decimal; its exact text survives (not a float's 43000.1).
    assert signal.payload["tv"]["entry_price"] == "43000.10"


@pytest.mark.parametrize(
    ("interval", "stored"),
    [("15", "15m"), ("60", "1h"), ("240", "4h"), ("1D", "1d"), ("D", "1d"), ("1W", "1w")],
)
def test_tradingview_interval_is_stored_as_a_normalised_timeframe(engine, client, interval, stored):
    assert post(client, signal_payload(timeframe=interval)).status_code == 202
    assert Signal.objects.get().timeframe == stored


@pytest.mark.parametrize(
    "body",
    [
        b'{"secret": "test-webhook-secret", "tv": {',
        b'{"tv": {"entry_price": {{close}}}}',
        b"BUY BTCUSDT 43000",
        b"",
        b"[1, 2, 3]",
        b"\xff\xfe not utf-8",
    ],
    ids=["truncated", "unquoted-placeholder", "plain-text", "empty", "array", "not-utf8"],
)
def test_malformed_json_gets_400_and_only_a_rejection_event(engine, client, body):
    before, event_id = trading_state(), last_event_id()
    response = post(client, raw=body, content_type="text/plain")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "rejected"
    assert response.json()["error"]
    assert_only_a_rejection_event_was_written(before, event_id)


def test_schema_errors_get_422_listing_every_bad_field(engine, client):
    payload = signal_payload(timeframe="7X", price="abc", intent="hold")
    del payload["tv"]["symbol"]
    before, event_id = trading_state(), last_event_id()
    response = post(client, payload)
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"tv.symbol", "tv.timeframe", "tv.entry_price", "execution_intent.type"}
    assert all(error["message"] for error in response.json()["errors"])
    assert_only_a_rejection_event_was_written(before, event_id)


def test_missing_side_and_price_for_an_entry_are_both_reported(engine, client):
    response = post(client, signal_payload(side=None, price=None))
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"execution_intent.side", "tv.entry_price"}


def test_body_over_64_kib_gets_413_and_only_a_rejection_event(engine, client):
    payload = signal_payload()
    payload["padding"] = "x" * (64 * 1024)
    before, event_id = trading_state(), last_event_id()
    response = post(client, payload)
    assert response.status_code == 413
    assert response.json()["status"] == "rejected"
    assert_only_a_rejection_event_was_written(before, event_id)


def test_body_of_exactly_64_kib_is_still_accepted(engine, client):
    body = json.dumps(signal_payload()).encode()
    response = post(client, raw=body + b" " * (64 * 1024 - len(body)))
    assert response.status_code == 202


def test_unreadable_content_length_gets_400_not_500(engine, client):
    response = post(client, CONTENT_LENGTH="forty")
    assert response.status_code == 400
    assert Signal.objects.count() == 0


def test_unknown_symbol_is_accepted_then_rejected_by_the_engine_with_the_reason(driver, client):
    response = post(client, signal_payload(symbol="FOOUSDT"))
    assert response.status_code == 202
    assert Signal.objects.get().status == SignalStatus.RECEIVED
    driver.tick()
    signal = Signal.objects.get()
    assert signal.status == SignalStatus.REJECTED
    assert signal.reason == "rejected: unknown symbol FOOUSDT on binance"
    assert trading_state()["PositionGroup"] == 0
    assert trading_state()["Order"] == 0


def test_secret_not_configured_gets_401_with_a_clear_message(engine, client, settings):
    settings.ENGINE_WEBHOOK_SECRET = ""
    configure(security={"webhook_secret": ""})
    before, event_id = trading_state(), last_event_id()
    response = post(client, signal_payload(secret=TEST_SECRET))
    assert response.status_code == 401
    assert "secret is not configured" in response.json()["error"]
    assert_only_a_rejection_event_was_written(before, event_id)


def test_secret_from_the_environment_wins_over_the_config(engine, client, settings):
    settings.ENGINE_WEBHOOK_SECRET = "from-the-environment"
    assert post(client, signal_payload(secret=TEST_SECRET)).status_code == 401
    assert post(client, signal_payload(secret="from-the-environment")).status_code == 202


def test_the_engine_heartbeat_records_when_the_last_webhook_arrived(engine, client):
    from trading.models import EngineState

    post(client, signal_payload(trade_id="first"))
    post(client, signal_payload(trade_id="second"))
    engine.heartbeat()
    latest = Signal.objects.order_by("-received_at").first().received_at
    assert EngineState.objects.get(pk=1).last_webhook_at == latest


def test_the_webhook_rereads_the_configs_version_once_the_recheck_time_has_passed(
    engine, client, monkeypatch
):
    """A config saved by another web process reaches this one within CONFIG_RECHECK_SEC: no config
    query before that, one after."""
    from types import SimpleNamespace

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading import config_service
    from trading.webhooks import CONFIG_RECHECK_SEC

    clock = [1000.0]
    monkeypatch.setattr(config_service, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    config_service.forget_checked()  # the last check was on the real clock
    post(client, signal_payload(trade_id="warm-up"))
    reads = []
    for trade_id, later in (("within", CONFIG_RECHECK_SEC / 2), ("after", CONFIG_RECHECK_SEC)):
        clock[0] += later
        with CaptureQueriesContext(connection) as captured:
            assert post(client, signal_payload(trade_id=trade_id)).status_code == 202
        reads.append(sum("trading_configdocument" in q["sql"] for q in captured.captured_queries))

    assert reads == [0, 1]
