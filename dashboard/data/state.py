"""What a fragment builder knows about who is looking and at what: the same for a view and a push."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, QueryDict

from ..access import can_act


@dataclass
class ViewState:
    user: Any
    params: QueryDict
    session_key: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Per-connection memory of a live page (e.g. the last event id the log stream has shown).
    cursor: dict[str, Any] = field(default_factory=dict)
    # Per-render memo for reads several fragments share (cleared before each live render).
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def can_act(self) -> bool:
        return can_act(self.user)

    @classmethod
    def of(cls, request: HttpRequest, **params: Any) -> ViewState:
        query = request.GET.copy()
        for key, value in params.items():
            query[key] = str(value)
        return cls(user=request.user, params=query, session_key=request.session.session_key)
