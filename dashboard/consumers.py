"""`/ws/console/`: one socket per open console page; re-renders that page's changed fragments.

The engine publishes `console.changed` to the channel-layer group "console" (coalesced in
`trading.live`). Each consumer knows its page and filters (from the socket URL), rebuilds the
affected fragments with the views' own builders, and sends them as one htmx ws message of
out-of-band swaps. A small timer adds the console's own `prices` and `tick` topics, and a beat
every `BEAT_SEC` with the engine's state: the page's watchdog calls the connection lost when beats
stop, and a change of engine state (e.g. its heartbeat going stale) re-renders what shows it.
After a reconnect the page sends `{"refresh": true}` and gets every fragment anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Max
from django.http import QueryDict

from exchanges.paper_models import PaperPrice
from trading.live import GROUP
from trading.models import EngineState

from .data.common import console_status
from .data.state import ViewState
from .panels import PAGES, all_topics, render_beat, render_changes

log = logging.getLogger(__name__)

PRICE_CHECK_SEC = 0.25
TICK_EVERY = 40  # price checks between two `tick` re-renders (heartbeat, timers): 10 s
BEAT_EVERY = 8  # price checks between two beats: 2 s (watchdog.js calls 10 s of silence a lost link)
REFRESH_MIN_SEC = 2.0  # at most one full refresh per socket this often


def _price_stamp() -> object:
    return PaperPrice.objects.aggregate(latest=Max("updated_at"))["latest"]


def _engine_status() -> str:
    return console_status(EngineState.objects.filter(pk=1).first(), datetime.now(UTC))


class ConsoleConsumer(AsyncWebsocketConsumer):
    page: str = ""
    view: ViewState | None = None
    _ticker: asyncio.Task | None = None
    _refreshed_at: float = 0.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        params = QueryDict(self.scope.get("query_string", b"").decode())
        self.page = params.get("page", "")
        if user is None or not user.is_authenticated or self.page not in PAGES:
            await self.close(code=4403)  # before accept(): the handshake is refused
            return
        session = self.scope.get("session")
        self.view = ViewState(user=user, params=params, session_key=getattr(session, "session_key", None))
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()
        self._ticker = asyncio.create_task(self._watch())

    async def disconnect(self, code: int) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.view is not None:
            await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Only `{"refresh": true}` (after a reconnect); actions go through HTTP with CSRF."""
        try:
            wanted = json.loads(text_data or "").get("refresh") is True
        except (ValueError, AttributeError):
            return
        now = time.monotonic()
        if wanted and now - self._refreshed_at >= REFRESH_MIN_SEC:
            self._refreshed_at = now
            await self._push(all_topics(self.page), time.time(), refresh=True)

    async def console_changed(self, message: dict) -> None:
        await self._push(set(message.get("topics") or ()), message.get("sent_at"))

    async def _push(self, topics: set[str], sent_at: float | None = None, refresh: bool = False) -> None:
        if self.view is None or not topics:
            return
        try:
            html = await database_sync_to_async(render_changes)(
                self.page, self.view, topics, sent_at, refresh=refresh
            )
        except Exception:  # noqa: BLE001 - one broken fragment must not drop the socket
            log.exception("live render of %s failed", self.page)
            return
        if html:
            await self.send(text_data=html)

    async def _watch(self) -> None:
        """Prices move without an engine event; time moves on its own (heartbeat, countdowns)."""
        stamp = await database_sync_to_async(_price_stamp)()
        engine = await database_sync_to_async(_engine_status)()
        checks = 0
        while True:
            await asyncio.sleep(PRICE_CHECK_SEC)
            checks += 1
            topics = set()
            latest = await database_sync_to_async(_price_stamp)()
            if latest != stamp:
                stamp = latest
                topics.add("prices")
            if checks % TICK_EVERY == 0:
                topics.add("tick")
            if checks % BEAT_EVERY == 0:
                now_engine = await database_sync_to_async(_engine_status)()
                if now_engine != engine:  # e.g. the heartbeat went stale: banner, badges, buttons follow
                    engine = now_engine
                    topics.update(("engine", "tick"))
                await self.send(text_data=render_beat(engine))
            await self._push(topics, time.time())
