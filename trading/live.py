"""Live pushes to open console pages: the engine marks what changed, a publisher coalesces.

Bursts collapse into at most one message per `ui.realtime_update_ms` (never one push per tick per
leg). Consumers subscribe to the channel-layer group `console` and re-render the named topics.
In the embedded default (`manage.py run`) the in-memory layer lives on daphne's event loop in the
web process, so the engine process hands what changed to the web over their link (`use_sink`,
trading/engine_link.py) and the web publishes it through that loop (and drops it once that loop has
stopped: no page is connected any more); with `REDIS_URL` any process can publish.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

GROUP = "console"
TOPICS_BY_CATEGORY = {
    "webhook": {"signals", "dashboard"},
    "signal": {"signals", "groups", "queue", "dashboard"},
    "order": {"groups", "dashboard"},
    "precision": {"status", "groups"},
    "risk": {"risk", "groups", "dashboard"},
    "engine": {"engine", "dashboard", "status"},
    "error": {"engine", "dashboard"},
}

_lock = threading.Lock()
_pending: set[str] = set()
_groups: set[int] = set()
_web_loop: asyncio.AbstractEventLoop | None = None
# A push waits this long at most for the web loop: it must never hold up the engine's scheduler.
PUSH_TIMEOUT_SEC = 1.0


_sink: Callable[[list[str], list[int]], object] | None = None


def use_sink(sink: Callable[[list[str], list[int]], object] | None) -> None:
    """Hand each flush to `sink` instead of the channel layer (the engine process under `run`)."""
    global _sink
    _sink = sink


def use_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Called by `manage.py run` from inside its running web loop: publish through that loop."""
    global _web_loop
    _web_loop = loop


def mark(category: str, group_id: int | None = None) -> None:
    """Note that something of this kind changed; cheap, called from every event."""
    with _lock:
        _pending.update(TOPICS_BY_CATEGORY.get(category, {"dashboard"}))
        _pending.add("events")
        if group_id is not None:
            _groups.add(group_id)


def take() -> tuple[list[str], list[int]]:
    with _lock:
        topics, groups = sorted(_pending), sorted(_groups)
        _pending.clear()
        _groups.clear()
    return topics, groups


def publish(topics: list[str], group_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is None or not topics:
        return
    message = {
        "type": "console.changed",
        "topics": topics,
        "group_ids": group_ids[:200],
        "sent_at": time.time(),
    }
    loop = _web_loop
    try:
        if loop is None:
            async_to_sync(layer.group_send)(GROUP, message)
        elif loop.is_running():
            future = asyncio.run_coroutine_threadsafe(layer.group_send(GROUP, message), loop)
            try:
                future.result(timeout=PUSH_TIMEOUT_SEC)
            except TimeoutError:
                future.cancel()  # a stopping or stuck loop: never deliver this one late
                raise
        # else: this process's web server has stopped, and with it every console page's socket.
    except Exception:  # noqa: BLE001 - a console push must never disturb trading
        log.warning("live push failed", exc_info=True)


def flush() -> bool:
    """Publish what accumulated since the last flush; True if anything was sent."""
    topics, groups = take()
    if not topics:
        return False
    if _sink is not None:
        _sink(topics, groups)
    else:
        publish(topics, groups)
    return True


def start_flusher(interval_sec: Callable[[], float], stop: threading.Event) -> None:
    """Flush this process's marks every `interval_sec()` seconds on a daemon thread until `stop` (the
    web process of `run`: its own events, e.g. an accepted webhook, are pushed from here). The
    interval is asked again after every flush, so a saved ui.realtime_update_ms applies at once."""

    def loop() -> None:
        while not stop.wait(interval_sec()):
            try:
                flush()
            except Exception:  # noqa: BLE001 - a console push must never stop the pushes
                log.warning("live push failed", exc_info=True)

    threading.Thread(target=loop, name="live-flush", daemon=True).start()
