"""Who may post a webhook: the shared secret, the optional HMAC header, the optional IP allow-list.

The secret must never come back out: not in a response, an event, the JSON log or the inbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.conftest import TEST_SECRET, configure, signal_payload
from trading.models import Event, Signal

from .webhook_support import events_since, last_event_id, log_offset, log_since, post, trading_state

pytestmark = pytest.mark.django_db

WRONG_SECRET = "wrong-secret-Qx81-do-not-echo"
LISTED, UNLISTED = "52.89.214.238", "203.0.113.9"


def signature(body: bytes, secret: str = TEST_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def everything_written_since(event_id: int, offset: int) -> str:
    """Every place a leaked secret could land: event rows, the JSON log, the inbox."""
    events = [(event.message, event.context) for event in events_since(event_id)]
    payloads = list(Signal.objects.values_list("payload", "reason"))
    return json.dumps([events, payloads]) + log_since(offset)


def test_wrong_secret_gets_401_and_the_secret_appears_nowhere(engine, client):
    event_id, offset, before = last_event_id(), log_offset(), trading_state()
    response = post(client, signal_payload(secret=WRONG_SECRET))
    assert response.status_code == 401
    assert response.json() == {"status": "rejected", "error": "wrong or missing secret"}
    assert Signal.objects.count() == 0
    assert trading_state() == before
    [event] = events_since(event_id)
    assert (event.category, event.severity) == ("webhook", "warning")
    assert "rejected" in event.message
    written = response.content.decode() + everything_written_since(event_id, offset)
    assert WRONG_SECRET not in written
    assert TEST_SECRET not in written


@pytest.mark.parametrize(
    "secret",
    [None, 12345678, "", ["test-webhook-secret"], "test-webhook-secre\ud800"],
    ids=["missing", "number", "empty", "list", "lone-surrogate"],
)
def test_missing_or_non_text_secret_gets_401(engine, client, secret):
    payload = signal_payload()
    if secret is None:
        del payload["secret"]
    else:
        payload["secret"] = secret
    assert post(client, payload).status_code == 401
    assert Signal.objects.count() == 0


def test_wrong_secret_is_refused_before_the_schema_is_read(engine, client):
    # An unauthenticated sender learns nothing about our schema, and its body is not echoed.
    response = post(client, signal_payload(secret=WRONG_SECRET, timeframe="7X", intent="hold"))
    assert response.status_code == 401
    assert "errors" not in response.json()


def test_accepted_webhook_is_stored_and_logged_with_the_secret_redacted(engine, client):
    event_id, offset = last_event_id(), log_offset()
    payload = signal_payload(strategy_info={"trade_id": "t1", "api_key": "exchange-key-do-not-store"})
    response = post(client, payload)
    assert response.status_code == 202
    signal = Signal.objects.get()
    assert signal.payload["secret"] == "***"
    assert signal.payload["strategy_info"]["api_key"] == "***"
    assert signal.payload["tv"] == payload["tv"]  # everything else kept as sent
    written = response.content.decode() + everything_written_since(event_id, offset)
    assert TEST_SECRET not in written
    assert "exchange-key-do-not-store" not in written
    assert any("accepted as signal" in event.message for event in events_since(event_id))


def test_secret_pasted_into_a_bad_field_is_not_echoed_by_the_422(engine, client):
    event_id, offset = last_event_id(), log_offset()
    response = post(client, signal_payload(timeframe=TEST_SECRET, price=TEST_SECRET))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"tv.timeframe", "tv.entry_price"}
    assert TEST_SECRET not in response.content.decode() + everything_written_since(event_id, offset)


def test_correct_hmac_signature_is_accepted(engine, client):
    body = json.dumps(signal_payload()).encode()
    response = post(client, raw=body, headers={"X-Signature": signature(body)})
    assert response.status_code == 202


def test_hmac_signature_with_sha256_prefix_is_accepted(engine, client):
    body = json.dumps(signal_payload()).encode()
    response = post(client, raw=body, headers={"X-Signature": "sha256=" + signature(body).upper()})
    assert response.status_code == 202


@pytest.mark.parametrize(
    "header",
    ["0" * 64, "not-hex", "", "é" * 64],
    ids=["wrong-digest", "not-hex", "empty", "non-ascii"],
)
def test_wrong_hmac_signature_gets_401_even_with_the_right_secret(engine, client, header):
    body = json.dumps(signal_payload()).encode()
    response = post(client, raw=body, HTTP_X_SIGNATURE=header)
    assert response.status_code == 401
    assert response.json()["error"] == "bad HMAC signature"
    assert Signal.objects.count() == 0


def test_hmac_signed_with_another_key_or_over_another_body_gets_401(engine, client):
    body = json.dumps(signal_payload()).encode()
    other = json.dumps(signal_payload(price="1")).encode()
    assert post(client, raw=body, headers={"X-Signature": signature(body, "other-key")}).status_code == 401
    assert post(client, raw=body, headers={"X-Signature": signature(other)}).status_code == 401


def test_require_hmac_without_the_header_gets_401(engine, client):
    configure(security={"require_hmac": True})
    body = json.dumps(signal_payload()).encode()
    response = post(client, raw=body)
    assert response.status_code == 401
    assert response.json()["error"] == "missing HMAC signature header"
    assert post(client, raw=body, headers={"X-Signature": signature(body)}).status_code == 202


def test_hmac_header_name_is_configurable(engine, client):
    configure(security={"hmac_header": "X-Hub-Signature-256", "require_hmac": True})
    body = json.dumps(signal_payload()).encode()
    assert post(client, raw=body, headers={"X-Signature": signature(body)}).status_code == 401
    response = post(client, raw=body, headers={"X-Hub-Signature-256": "sha256=" + signature(body)})
    assert response.status_code == 202


def test_ip_allowlist_is_off_by_default(engine, client):
    assert post(client, REMOTE_ADDR=UNLISTED).status_code == 202


def test_ip_allowlist_refuses_an_unlisted_address_with_403(engine, client):
    configure(security={"ip_allowlist_enabled": True, "ip_allowlist": [LISTED, "10.0.0.0/8"]})
    event_id, before = last_event_id(), trading_state()
    response = post(client, REMOTE_ADDR=UNLISTED)
    assert response.status_code == 403
    assert UNLISTED in response.json()["error"]
    assert Signal.objects.count() == 0
    assert trading_state() == before
    assert [e.category for e in events_since(event_id)] == [Event.Category.WEBHOOK]


@pytest.mark.parametrize("address", [LISTED, "10.1.2.3"])
def test_ip_allowlist_accepts_a_listed_address_or_range(engine, client, address):
    configure(security={"ip_allowlist_enabled": True, "ip_allowlist": [LISTED, "10.0.0.0/8"]})
    assert post(client, REMOTE_ADDR=address).status_code == 202
    assert Signal.objects.get().source_ip == address


def test_forwarded_for_is_ignored_unless_trusted(engine, client):
    configure(security={"ip_allowlist_enabled": True, "ip_allowlist": [LISTED]})
    response = post(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=LISTED)
    assert response.status_code == 403  # anyone can write that header


def test_trusted_forwarded_for_takes_the_address_the_proxy_appended_not_one_the_client_wrote(engine, client):
    configure(
        security={"ip_allowlist_enabled": True, "ip_allowlist": [LISTED], "trust_x_forwarded_for": True}
    )
    # The proxy appends the address it saw: the right-most entry. What is left of it came from the
    # client, who could write a listed address there to get past the allow-list.
    spoofed = f"{LISTED}, {UNLISTED}"
    assert post(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=spoofed).status_code == 403
    honest = f"{UNLISTED}, {LISTED}"
    assert post(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=honest).status_code == 202
    assert Signal.objects.get().source_ip == LISTED


@pytest.mark.parametrize("forwarded", ["not-an-ip", "1.2.3.4:5678", "fe80::1%eth0"])
def test_unparseable_forwarded_address_is_stored_as_unknown_not_a_500(engine, client, forwarded):
    configure(security={"trust_x_forwarded_for": True})
    assert post(client, HTTP_X_FORWARDED_FOR=forwarded).status_code == 202
    assert Signal.objects.get().source_ip in (None, "fe80::1")
