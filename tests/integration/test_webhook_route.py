"""The webhook's own ASGI route (`trading.webhook_route`): what daphne and uvicorn serve for
POST /webhooks/tradingview. It skips Django's request handler, so every rule of the intake is checked
here through the real ASGI application, side by side with the Django view the test client reaches."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from django.db import connections

from tests.conftest import TEST_SECRET, configure, signal_payload
from tests.serving import http_scope
from trading.core.webhook_payload import MAX_BODY_BYTES
from trading.models import Signal, SignalStatus
from trading.webhook_route import THREADS

from .webhook_support import URL, events_since, last_event_id, post

pytestmark = pytest.mark.django_db(transaction=True)  # the route writes from its own threads


@pytest.fixture
def intake(transactional_db):
    from trading import config_service
    from trading.bootstrap import prepare

    config_service.config_path().unlink(missing_ok=True)
    prepare(migrate=False)
    configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 0})


def call_route(
    body: bytes = b"",
    *,
    method: str = "POST",
    path: str = URL,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    client: str = "127.0.0.1",
) -> tuple[int, dict[str, str], Any]:
    """One request through the project's ASGI application, as daphne would hand it over."""
    from engine_site.asgi import application

    chunks = chunks if chunks is not None else [body]
    if headers is None:
        headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
        headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
    scope = http_scope(path, headers, method=method, client=client)
    pending = list(chunks)
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        if not pending:
            await asyncio.sleep(3600)  # a client that sends nothing more
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=30))
    is_json = answer["headers"].get("content-type") == "application/json"
    return answer["status"], answer["headers"], json.loads(answer["body"]) if is_json else answer["body"]


def payload_bytes(**fields: Any) -> bytes:
    return json.dumps(signal_payload(**fields)).encode()


def view_answer(client, body: bytes, **extra: Any) -> tuple[int, Any]:
    response = post(client, raw=body, **extra)
    return response.status_code, response.json()


def test_route_accepts_and_stores_a_signal_exactly_as_the_view_does(intake, client):
    status, headers, body = call_route(payload_bytes(trade_id="route-1"))
    assert status == 202 and headers["content-type"] == "application/json"
    stored = Signal.objects.get(pk=body["signal_id"])
    assert body == {"status": "accepted", "signal_id": stored.pk}
    view_status, view_body = view_answer(client, payload_bytes(trade_id="view-1"))
    by_view = Signal.objects.get(pk=view_body["signal_id"])
    assert (view_status, set(view_body)) == (status, set(body))
    fields = ("status", "symbol", "exchange", "timeframe", "intent", "side", "order_size", "source_ip")
    assert [getattr(stored, f) for f in fields] == [getattr(by_view, f) for f in fields]
    assert stored.status == SignalStatus.RECEIVED and stored.source_ip == "127.0.0.1"
    assert "secret" not in json.dumps(stored.payload) or TEST_SECRET not in json.dumps(stored.payload)


@pytest.mark.parametrize(
    ("case", "body", "status", "error"),
    [
        ("wrong secret", payload_bytes(secret="wrong"), 401, "wrong or missing secret"),
        ("not JSON", b"{not json", 400, "invalid JSON"),
        ("no object", b"[1, 2]", 400, "expected a JSON object"),
        ("bad payload", json.dumps({"secret": TEST_SECRET, "tv": {}}).encode(), 422, "invalid payload"),
    ],
)
def test_route_refuses_what_the_view_refuses_with_the_same_answer(intake, client, case, body, status, error):
    event_id = last_event_id()
    route_status, _, route_body = call_route(body)
    view_status, view_body = view_answer(client, body)
    assert (route_status, route_body) == (view_status, view_body), case
    assert route_status == status and error in route_body["error"], route_body
    assert Signal.objects.count() == 0
    # Each refusal wrote its rejected-webhook event, nothing else.
    assert [e.category for e in events_since(event_id)] == ["webhook", "webhook"]


def test_route_answers_a_resent_payload_as_a_duplicate_of_the_first(intake):
    body = payload_bytes(trade_id="same")
    _, _, first = call_route(body)
    status, _, again = call_route(body)
    assert (status, again) == (200, {"status": "duplicate", "signal_id": first["signal_id"]})
    statuses = list(Signal.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [SignalStatus.RECEIVED, SignalStatus.DUPLICATE]


def test_route_refuses_other_methods_with_allow_post(intake):
    status, headers, body = call_route(method="GET", headers=[(b"host", b"127.0.0.1")])
    assert (status, headers["allow"], body["status"]) == (405, "POST", "rejected")


def test_route_refuses_a_body_over_the_webhook_limit_without_storing_it(intake):
    event_id = last_event_id()
    status, _, body = call_route(b"x" * (MAX_BODY_BYTES + 1))
    assert status == 413 and str(MAX_BODY_BYTES) in body["error"]
    # Chunked, no Content-Length: refused once the chunks pass the limit.
    chunk = b"x" * 8192
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    status, _, body = call_route(chunks=[chunk] * (MAX_BODY_BYTES // 8192 + 2), headers=headers)
    assert status == 413
    assert Signal.objects.count() == 0
    assert len(events_since(event_id)) == 2


def test_route_refuses_a_host_not_in_allowed_hosts_and_stores_nothing(intake):
    body = payload_bytes()
    headers = [(b"host", b"evil.example"), (b"content-length", str(len(body)).encode())]
    status, _, answer = call_route(body, headers=headers)
    assert status == 400 and "ALLOWED_HOSTS" in answer["error"]
    assert Signal.objects.count() == 0


def test_route_applies_the_allow_list_to_the_forwarded_address_when_trusted(intake):
    configure(
        security={
            "trust_x_forwarded_for": True,
            "ip_allowlist_enabled": True,
            "ip_allowlist": ["52.89.214.238"],
        }
    )
    body = payload_bytes(trade_id="xff")
    base = [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
    status, _, _ = call_route(body, headers=[*base, (b"x-forwarded-for", b"10.0.0.9, 52.89.214.238")])
    assert status == 202
    status, _, answer = call_route(body, headers=[*base, (b"x-forwarded-for", b"52.89.214.238, 10.0.0.9")])
    assert status == 403 and "10.0.0.9" in answer["error"]


def test_route_skips_django_middleware_but_other_paths_keep_it(intake):
    _, webhook_headers, _ = call_route(payload_bytes(trade_id="mw"))
    status, page_headers, _ = call_route(method="GET", path="/healthz", headers=[(b"host", b"127.0.0.1")])
    assert status == 200
    assert "x-frame-options" in page_headers  # Django's middleware ran for the health check
    assert "x-frame-options" not in webhook_headers  # and not for the webhook
    assert webhook_headers["x-content-type-options"] == "nosniff"


def test_route_threads_hand_postgresql_connections_back_to_the_pool(intake):
    from engine_site.asgi import application

    call_route(payload_bytes(trade_id="pool"))
    route = application.application_mapping["http"].app  # BodySizeLimit → WebhookRoute
    # Asked on every route thread at once (a barrier keeps each on its own): the one that served the
    # request is among them, whichever it was (an executor may start a new thread for the next task).
    threads = THREADS[connections["default"].vendor]
    barrier = threading.Barrier(threads)

    def holds_a_connection() -> bool:
        barrier.wait(timeout=10)
        return connections["default"].connection is not None

    held = [future.result() for future in [route.executor.submit(holds_a_connection) for _ in range(threads)]]
    # PostgreSQL: back to the psycopg pool after each request. SQLite: kept by the thread (opening and
    # closing one costs more than the intake itself), which is safe because the threads are few.
    assert any(held) is (connections["default"].vendor == "sqlite")


def test_route_answers_a_bug_with_a_bare_500_and_logs_it(intake, monkeypatch, caplog):
    from trading import webhooks

    def broken(inbound):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(webhooks, "receive", broken)
    status, _, body = call_route(payload_bytes(trade_id="bug"))
    assert (status, body["status"]) == (500, "error")
    assert "secret detail" not in json.dumps(body)  # the caller learns nothing of the internals
    assert any("secret detail of the failure" in r.exc_text for r in caplog.records if r.exc_text)


def test_route_stores_nothing_when_the_client_leaves_before_its_body_arrived(intake):
    from engine_site.asgi import application

    messages = [
        {"type": "http.request", "body": payload_bytes(trade_id="gone")[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    asyncio.run(application(http_scope(URL, headers), receive, send))
    assert sent == [] and Signal.objects.count() == 0


def test_route_answers_any_body_text_through_the_intake(intake):
    # No body is special to the route: text that once stood for "client gone" is just bad JSON.
    status, _, body = call_route(b"<disconnected>")
    assert status == 400 and "invalid JSON" in body["error"]
