"""Which fragments each page shows, what changes them, and how they are built.

A view renders the whole page from these builders; the websocket consumer re-renders only the
fragments whose topics changed, from the same builders and the same template partials, and sends
them as htmx out-of-band swaps. Topics are the engine's (`trading.live`) plus two of the console's
own: `prices` (a paper price moved) and `tick` (time passed: heartbeat, countdowns).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .data import (
    analytics,
    balance,
    common,
    group,
    logs,
    overview,
    positions,
    queue,
    risk,
    settings,
    status,
    trades,
)
from .data.state import ViewState

Builder = Callable[[ViewState], dict]


@dataclass(frozen=True)
class Panel:
    template: str  # "page.html#partial-name"
    topics: frozenset[str]
    build: Builder


def _p(template: str, topics: str, build: Builder) -> Panel:
    return Panel(template, frozenset(topics.split()), build)


COMMON = (
    _p("base.html#alerts", "events", common.alerts),
    _p("base.html#engine-badge", "engine status dashboard tick", common.engine_badge),
    _p("base.html#entries-blocked", "engine status events tick", common.entries_blocked),
    _p("base.html#my-commands", "engine events", common.my_commands),
)

PAGES: dict[str, tuple[Panel, ...]] = {
    "overview": (
        _p(
            "console/overview.html#stats",
            "groups queue dashboard signals risk engine prices tick",
            overview.stats,
        ),
        _p("console/overview.html#balance", "groups dashboard engine prices tick", balance.cards),
        _p("console/overview.html#recent", "events signals", overview.recent),
    ),
    "positions": (
        _p("console/positions.html#positions-table", "groups dashboard engine prices", positions.table),
    ),
    "group": (_p("console/group.html#group-detail", "groups engine prices", group.detail),),
    "risk": (
        _p("console/risk.html#risk-table", "groups risk engine prices tick", risk.table),
        _p("console/risk.html#risk-plan", "risk engine tick", risk.plan),
        _p("console/risk.html#risk-actions", "risk groups", risk.actions),
    ),
    "queue": (_p("console/queue.html#queue-table", "queue groups signals engine prices", queue.table),),
    "logs": (_p("console/logs.html#log-stream", "events", logs.stream),),
    "status": (_p("console/status.html#status-panel", "status engine signals events tick", status.panel),),
    "trades": (_p("console/trades.html#trades-table", "groups", trades.table),),
    # The page's figures are read afresh when its stamp changes (a close or a snapshot), not per push.
    "analytics": (_p("console/analytics.html#analytics-stamp", "groups dashboard tick", analytics.stamp),),
    "settings": (_p("console/settings.html#engine-applied", "engine tick", settings.engine_applied),),
    # /settings/accounts/ and /settings/backup/: plain forms; only the common fragments are live.
    "settings-forms": (),
}

# A full page render where it differs from the sum of its live fragments.
FULL_PAGE: dict[str, Builder] = {"logs": logs.page, "settings": settings.page, "analytics": analytics.page}


def page_context(page: str, view: ViewState) -> dict:
    context: dict = {}
    builders: Iterable[Builder] = [p.build for p in COMMON] + (
        [FULL_PAGE[page]] if page in FULL_PAGE else [p.build for p in PAGES[page]]
    )
    for build in builders:
        context.update(build(view))
    context["can_act"] = view.can_act
    return context


def all_topics(page: str) -> set[str]:
    """Every topic some fragment of `page` listens to: a full refresh (after a reconnect)."""
    return {topic for panel in (*COMMON, *PAGES.get(page, ())) for topic in panel.topics}


def render_changes(
    page: str, view: ViewState, topics: set[str], sent_at: float | None = None, *, refresh: bool = False
) -> str:
    """The out-of-band fragments a live page needs after `topics` changed ('' if none).

    Each fragment is morphed into the page (`hx-swap-oob="morph"`), so the elements under the
    user's pointer, focus and selection stay the same nodes. The stamp at the end carries when the
    render started (`data-rendered-at`): the page ignores a row state older than its own click.
    """
    rendered_at = time.time()
    view.now = datetime.now(UTC)
    view.memo.clear()
    parts = [
        render_to_string(panel.template, {**panel.build(view), "live": True})
        for panel in (*COMMON, *PAGES.get(page, ()))
        if panel.topics & topics
    ]
    if not parts:
        return ""
    stamp = format_html(
        '<span id="live-stamp" hx-swap-oob="true" hidden data-sent-at="{}" data-rendered-at="{}" data-topics="{}"{}></span>',
        "" if sent_at is None else f"{sent_at:.6f}",
        f"{rendered_at:.6f}",
        " ".join(sorted(topics)),
        mark_safe(' data-refresh="1"') if refresh else "",
    )
    return "".join(parts) + stamp


def render_beat(engine: str) -> str:
    """The socket's heartbeat (every `BEAT_SEC`): the page knows it is connected and how the engine is."""
    return format_html('<span id="live-beat" hx-swap-oob="true" hidden data-engine="{}"></span>', engine)
