"""Query-string filters of the positions table and the event log, validated like any form.

A bad value never errors a page: `cleaned()` falls back to the field's default.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from trading.models import Event, GroupStatus

POSITION_SORTS = {
    "opened": "opened",
    "symbol": "pair",
    "side": "side",
    "status": "status",
    "pyramids": "pyramids",
    "dca": "DCA filled",
    "entry": "avg entry",
    "pnl": "PnL $",
    "pnl_pct": "PnL %",
    "tp": "TP mode",
}

# The log's quick filters: severities and categories in one row of chips ("System" = engine + error).
LOG_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "error": ("severity", (Event.Severity.ERROR, Event.Severity.CRITICAL)),
    "warning": ("severity", (Event.Severity.WARNING,)),
    "info": ("severity", (Event.Severity.INFO, Event.Severity.DEBUG)),
    "webhook": ("category", (Event.Category.WEBHOOK, Event.Category.SIGNAL)),
    "order": ("category", (Event.Category.ORDER,)),
    "risk": ("category", (Event.Category.RISK,)),
    "precision": ("category", (Event.Category.PRECISION,)),
    "system": ("category", (Event.Category.ENGINE, Event.Category.ERROR)),
}


class _Lenient(forms.Form):
    def cleaned(self) -> dict[str, Any]:
        """Valid fields as given, invalid or missing ones at their defaults."""
        self.is_valid()
        values = {}
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name) if name not in self.errors else None
            values[name] = value if value not in (None, "", []) else field.initial
        return values


class PositionFilter(_Lenient):
    status = forms.ChoiceField(
        required=False,
        initial="open",
        choices=[("open", "Open"), ("all", "All"), *GroupStatus.choices],
    )
    side = forms.ChoiceField(
        required=False, initial="", choices=[("", "Any side"), ("long", "Long"), ("short", "Short")]
    )
    q = forms.CharField(required=False, initial="", max_length=40, strip=True)
    timeframe = forms.CharField(required=False, initial="", max_length=8, strip=True)
    sort = forms.ChoiceField(required=False, initial="opened", choices=list(POSITION_SORTS.items()))
    dir = forms.ChoiceField(required=False, initial="desc", choices=[("asc", "asc"), ("desc", "desc")])
    page = forms.IntegerField(required=False, initial=1, min_value=1, max_value=100_000)


class LogFilter(_Lenient):
    kind = forms.MultipleChoiceField(required=False, initial=[], choices=[(k, k.title()) for k in LOG_KINDS])
    q = forms.CharField(required=False, initial="", max_length=100, strip=True)
    symbol = forms.CharField(required=False, initial="", max_length=40, strip=True)
    timeframe = forms.CharField(required=False, initial="", max_length=8, strip=True)
    since = forms.DateTimeField(required=False, initial=None)
    until = forms.DateTimeField(required=False, initial=None)


def position_filter(params: QueryDict) -> dict[str, Any]:
    return PositionFilter(params).cleaned()


def log_filter(params: QueryDict) -> dict[str, Any]:
    return LogFilter(params).cleaned()
