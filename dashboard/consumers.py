"""`/ws/console/`: one socket per open console page; re-renders that page's changed fragments.

The engine publishes `console.changed` to the channel-layer group "console" (coalesced in
`trading.live`). Each consumer knows its page and filters (from the socket URL), rebuilds the
affected fragments with the views' own builders, and sends them as one htmx ws message of
out-of-band swaps. A small timer adds the console's own `prices` and `tick` topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Max
from django.http import QueryDict

from exchanges.paper_models import PaperPrice
from trading.live import GROUP

from .data.state import ViewState
from .panels import PAGES, render_changes

log = logging.getLogger(__name__)

PRICE_CHECK_SEC = 0.25
TICK_EVERY = 40  # price checks between two `tick` re-renders (heartbeat, timers): 10 s


def _price_stamp() -> object:
    return PaperPrice.objects.aggregate(latest=Max("updated_at"))["latest"]


class ConsoleConsumer(AsyncWebsocketConsumer):
    page: str = ""
    view: ViewState | None = None
    _ticker: asyncio.Task | None = None

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
        """The console sends nothing that matters; actions go through HTTP with CSRF."""

    async def console_changed(self, message: dict) -> None:
        await self._push(set(message.get("topics") or ()), message.get("sent_at"))

    async def _push(self, topics: set[str], sent_at: float | None = None) -> None:
        if self.view is None or not topics:
            return
        try:
            html = await database_sync_to_async(render_changes)(self.page, self.view, topics, sent_at)
        except Exception:  # noqa: BLE001 - one broken fragment must not drop the socket
            log.exception("live render of %s failed", self.page)
            return
        if html:
            await self.send(text_data=html)

    async def _watch(self) -> None:
        """Prices move without an engine event; time moves on its own (heartbeat, countdowns)."""
        stamp = await database_sync_to_async(_price_stamp)()
        beats = 0
        while True:
            await asyncio.sleep(PRICE_CHECK_SEC)
            beats += 1
            topics = set()
            latest = await database_sync_to_async(_price_stamp)()
            if latest != stamp:
                stamp = latest
                topics.add("prices")
            if beats % TICK_EVERY == 0:
                topics.add("tick")
            await self._push(topics, time.time())
