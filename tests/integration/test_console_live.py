"""The console socket: login required, and an engine change pushes the same fragments the views render."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from engine_site.asgi import application
from trading.live import GROUP

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


def _session(user: Any) -> tuple[Client, tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return client, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def _without_times(html: str) -> str:
    return re.sub(r"<time[^>]*>[^<]*</time>", "<time>", html)


async def _connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, detail = await communicator.connect(timeout=5)
    return communicator, connected, detail


def test_an_anonymous_socket_is_refused() -> None:
    async def scenario() -> bool:
        communicator, connected, _ = await _connect("/ws/console/?page=overview", [ORIGIN])
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_a_socket_from_a_foreign_origin_is_refused(admin_user: Any) -> None:
    _, cookie = _session(admin_user)

    async def scenario() -> bool:
        headers = [(b"origin", b"http://evil.example"), cookie]
        communicator, connected, _ = await _connect("/ws/console/?page=overview", headers)
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_an_unknown_page_is_refused(admin_user: Any) -> None:
    _, cookie = _session(admin_user)

    async def scenario() -> bool:
        communicator, connected, _ = await _connect("/ws/console/?page=nope", [ORIGIN, cookie])
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_an_engine_change_pushes_the_views_own_fragments(admin_user: Any, book: dict[str, Any]) -> None:
    client, cookie = _session(admin_user)
    client.get(f"/positions/{book['group'].pk}/legs/")  # expand a row: the push must keep it open
    sent_at = time.time()

    async def scenario() -> str:
        communicator, connected, _ = await _connect(
            "/ws/console/?page=positions&status=open", [ORIGIN, cookie]
        )
        assert connected
        message = {
            "type": "console.changed",
            "topics": ["groups", "events"],
            "group_ids": [],
            "sent_at": sent_at,
        }
        await get_channel_layer().group_send(GROUP, message)
        html = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return html

    pushed = async_to_sync(scenario)()
    for fragment in ('<section id="positions-table"', '<section id="alerts"', 'id="live-stamp"'):
        assert fragment in pushed
    assert f'data-sent-at="{sent_at:.6f}"' in pushed
    assert 'data-testid="legs"' in pushed  # the expanded row stays expanded
    # Byte for byte the fragment an htmx request to the view returns (times aside: they tick).
    view_fragment = client.get("/positions/?status=open", headers={"HX-Request": "true"}).content.decode()
    pushed_table = pushed[pushed.index('<section id="positions-table"') :]
    pushed_table = pushed_table[: pushed_table.index("</section>") + len("</section>")]
    # The push marks its fragment for a morphing swap; otherwise it is the view's own markup.
    pushed_table = pushed_table.replace('hx-swap-oob="morph"', "", 1)
    assert _without_times(view_fragment.strip()) == _without_times(pushed_table.strip())


def test_topics_of_other_pages_push_nothing(admin_user: Any, book: dict[str, Any]) -> None:
    _, cookie = _session(admin_user)

    async def scenario() -> bool:
        communicator, connected, _ = await _connect("/ws/console/?page=queue", [ORIGIN, cookie])
        assert connected
        message = {"type": "console.changed", "topics": ["risk"], "group_ids": [], "sent_at": time.time()}
        await get_channel_layer().group_send(GROUP, message)
        nothing = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True


def test_the_log_page_receives_new_rows_to_append(admin_user: Any, book: dict[str, Any]) -> None:
    from tests.factories import EventFactory
    from trading.models import Event

    _, cookie = _session(admin_user)
    after = Event.objects.values_list("id", flat=True).first()

    async def scenario() -> str:
        communicator, connected, _ = await _connect(
            f"/ws/console/?page=logs&kind=error&after={after}", [ORIGIN, cookie]
        )
        assert connected
        from channels.db import database_sync_to_async

        await database_sync_to_async(EventFactory)(
            category="order", severity="error", message="rate limit hit"
        )
        await database_sync_to_async(EventFactory)(category="order", severity="info", message="quiet fill")
        message = {"type": "console.changed", "topics": ["events"], "group_ids": [], "sent_at": time.time()}
        await get_channel_layer().group_send(GROUP, message)
        html = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return html

    pushed = async_to_sync(scenario)()
    assert 'hx-swap-oob="beforeend:#event-rows"' in pushed
    assert "rate limit hit" in pushed and "quiet fill" not in pushed


def test_a_reconnected_page_asks_for_and_gets_every_fragment(admin_user: Any, book: dict[str, Any]) -> None:
    _, cookie = _session(admin_user)

    async def scenario() -> tuple[str, bool]:
        communicator, connected, _ = await _connect("/ws/console/?page=positions", [ORIGIN, cookie])
        assert connected
        await communicator.send_to(text_data='{"refresh": true}')
        html = await communicator.receive_from(timeout=10)
        while 'data-refresh="1"' not in html:  # a beat may come first
            html = await communicator.receive_from(timeout=10)
        await communicator.send_to(text_data="not json")  # ignored, the socket stays open
        await communicator.send_to(text_data='{"refresh": true}')  # too soon again: no second render
        nothing = True
        for _ in range(3):
            if await communicator.receive_nothing(timeout=0.6):
                break
            nothing = nothing and 'data-refresh="1"' not in await communicator.receive_from()
        await communicator.disconnect()
        return html, nothing

    html, no_second = async_to_sync(scenario)()
    for fragment in ('id="positions-table"', 'id="engine-badge"', 'id="alerts"', 'id="my-commands"'):
        assert fragment in html
    assert html.count('hx-swap-oob="morph"') >= 4 and no_second


def test_the_socket_beats_and_pushes_a_change_of_engine_state(admin_user: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from channels.db import database_sync_to_async

    from trading.models import EngineState

    EngineState.objects.update_or_create(
        pk=1, defaults={"status": "running", "heartbeat_at": datetime.now(UTC)}
    )
    _, cookie = _session(admin_user)

    def go_silent() -> None:
        stale = datetime.now(UTC) - timedelta(minutes=1)
        EngineState.objects.filter(pk=1).update(heartbeat_at=stale)

    async def scenario() -> list[str]:
        communicator, connected, _ = await _connect("/ws/console/?page=overview", [ORIGIN, cookie])
        assert connected
        seen = [await communicator.receive_from(timeout=10)]
        await database_sync_to_async(go_silent)()
        while not any("Engine not responding" in html for html in seen) and len(seen) < 20:
            seen.append(await communicator.receive_from(timeout=10))
        await communicator.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    assert 'id="live-beat"' in seen[0] and 'data-engine="running"' in seen[0]
    assert any('data-engine="unresponsive"' in html and 'id="live-beat"' in html for html in seen)
    pushed = next(html for html in seen if "Engine not responding" in html)
    assert 'data-testid="risk-badge">Stopped<' in pushed
