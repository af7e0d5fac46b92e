"""Fragments on every page: the engine badge, the pinned alert strip, the user's command list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exchanges.models import ExchangeAccount
from trading import config_service
from trading.api.routes_system import engine_status
from trading.models import EngineState, Event

from ..commands import pending_kinds, recent_for
from ..models import UserPreference
from .state import ViewState

ALERT_SEVERITIES = (Event.Severity.ERROR, Event.Severity.CRITICAL)
ALERTS_SHOWN = 3


# The console's engine states: the health API's (running | paused | error | stopped), with a stale
# heartbeat of an engine that never said it stopped told apart as "unresponsive" (killed or hung).
LIVE_STATES = frozenset({"running", "paused", "error"})


@dataclass(frozen=True)
class EngineSummary:
    status: str  # running | paused | error | stopped | unresponsive
    paused: bool
    heartbeat_at: datetime | None
    started_at: datetime | None
    last_error: str
    last_webhook_at: datetime | None
    owner: str
    pending: frozenset[str]  # pause / resume / … still waiting for the engine

    @property
    def label(self) -> str:
        return "not responding" if self.status == "unresponsive" else self.status.capitalize()

    @property
    def alive(self) -> bool:
        """The engine loop is running (its heartbeat is fresh): commands will be applied soon."""
        return self.status in LIVE_STATES


def console_status(state: EngineState | None, now: datetime) -> str:
    """The health API's status, except that a stale heartbeat without a clean stop is "unresponsive"."""
    status = engine_status(state, now)
    if (
        status == EngineState.Status.STOPPED
        and state is not None
        and state.heartbeat_at is not None
        and state.status in LIVE_STATES
    ):
        return "unresponsive"
    return status


def engine_summary(now: datetime) -> EngineSummary:
    state = EngineState.objects.filter(pk=1).first()
    return EngineSummary(
        status=console_status(state, now),
        paused=bool(state and state.paused),
        heartbeat_at=state.heartbeat_at if state else None,
        started_at=state.started_at if state else None,
        last_error=state.last_error if state else "",
        last_webhook_at=state.last_webhook_at if state else None,
        owner=state.owner if state else "",
        pending=frozenset(pending_kinds()),
    )


def engine_badge(view: ViewState) -> dict:
    return {"engine": engine_summary(view.now), "can_act": view.can_act}


def entries_blocked(view: ViewState) -> dict:
    """Accounts whose new entries the engine stopped (auth failure, funds): a badge on every page."""
    blocked = ExchangeAccount.objects.exclude(entries_blocked_reason="").filter(enabled=True)
    return {"blocked_accounts": list(blocked.order_by("label").values("label", "entries_blocked_reason"))}


def alerts(view: ViewState) -> dict:
    """The latest unacknowledged error/critical events (API down, order rejected, rate limit, …)."""
    unacked = Event.objects.filter(severity__in=ALERT_SEVERITIES, acknowledged=False)
    shown = list(unacked.order_by("-id")[:ALERTS_SHOWN])
    more = unacked.count() - len(shown) if len(shown) == ALERTS_SHOWN else 0
    return {"alerts": shown, "alerts_more": more, "can_act": view.can_act}


def my_commands(view: ViewState) -> dict:
    return {"my_commands": recent_for(view.user)}


def theme_for(user) -> str:
    """The user's remembered theme, else the configured default (`ui.theme`)."""
    if getattr(user, "is_authenticated", False):
        theme = UserPreference.objects.filter(user=user).values_list("theme", flat=True).first()
        if theme:
            return theme
    return config_service.current().ui.theme
