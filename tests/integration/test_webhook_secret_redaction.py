"""The webhook secret never lands anywhere, wherever a sender put it: as a value, or as a key name.

Places it could land: the inbox (payload and columns), event rows, the JSON log, API answers.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import TEST_SECRET, signal_payload
from tests.factories import ApiTokenFactory
from trading import events
from trading.models import Signal

from .webhook_support import events_since, last_event_id, log_offset, log_since, post

pytestmark = pytest.mark.django_db


def written_since(event_id: int, offset: int) -> str:
    rows = list(Signal.objects.values("payload", "raw_symbol", "trade_id", "reason"))
    messages = [(event.message, event.context) for event in events_since(event_id)]
    return json.dumps([rows, messages], default=str) + log_since(offset)


def test_a_secret_used_as_a_json_key_is_stored_redacted(driver) -> None:
    event_id, offset = last_event_id(), log_offset()
    payload = signal_payload(notes=[{f"note-{TEST_SECRET}": "kept"}], **{TEST_SECRET: "top level"})
    payload["tv"][TEST_SECRET] = 1
    response = post(driver.client, payload)
    assert response.status_code == 202
    driver.tick()  # the engine's own events about this signal count too
    signal = Signal.objects.get()
    # The key names are masked (their values too: the test secret's name says "secret").
    assert set(signal.payload) >= {"***", "tv", "notes"} and "***" in signal.payload["tv"]
    assert signal.payload["notes"] == [{"note-***": "***"}]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    answer = api.get(f"/api/v1/signals/{signal.pk}").content.decode()
    assert TEST_SECRET not in answer + written_since(event_id, offset)


def test_a_secret_pasted_into_a_text_field_stays_out_of_the_inbox_columns_and_events(driver) -> None:
    event_id, offset = last_event_id(), log_offset()
    response = post(
        driver.client,
        signal_payload(symbol=TEST_SECRET, strategy_info={"trade_id": f"id-{TEST_SECRET}"}),
    )
    assert response.status_code == 202
    driver.tick()  # the engine rejects the unknown symbol, quoting it in its reason and event
    signal = Signal.objects.get()
    assert (signal.raw_symbol, signal.trade_id) == ("***", "id-***")
    assert TEST_SECRET not in written_since(event_id, offset)


def test_an_event_never_records_the_configured_secret_in_its_message_context_or_keys(engine) -> None:
    event_id, offset = last_event_id(), log_offset()
    event = events.record(
        events.Category.ENGINE,
        f"something quoted {TEST_SECRET}",
        context={TEST_SECRET: [f"value {TEST_SECRET}"], "nested": {f"k{TEST_SECRET}": 1}},
    )
    event.refresh_from_db()
    assert event.message == "something quoted ***"
    assert event.context == {"***": ["value ***"], "nested": {"k***": 1}}
    assert TEST_SECRET not in written_since(event_id, offset)
