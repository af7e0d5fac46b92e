"""Query-string filters of the positions table and the event log, validated like any form.

A bad value never errors a page: `cleaned()` falls back to the field's default, and `problems()`
says what was ignored (shown over the table). Symbols and timeframes read as the webhook reads them.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.http import QueryDict

from trading.models import Event, GroupStatus
from trading.reads.filters import symbol_text, timeframe_value

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

    def problems(self) -> list[str]:
        """Why a given value was ignored, one line per field."""
        self.is_valid()
        return [
            f"{self.fields[name].label or name}: {' '.join(errors)}" for name, errors in self.errors.items()
        ]


class SymbolField(forms.CharField):
    """A symbol in any spelling the webhook reads (BTCUSDT, BTC/USDT, BINANCE:BTCUSDT, BTCUSDT.P)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, initial="", max_length=40, strip=True, **kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        try:
            return symbol_text(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class TimeframeField(forms.CharField):
    """A timeframe as TradingView ("15", "60", "1D") or the engine ("15m", "1h") writes it, kept as
    the engine stores it ("15m")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, initial="", max_length=8, strip=True, **kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        try:
            return timeframe_value(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class PositionFilter(_Lenient):
    status = forms.ChoiceField(
        required=False,
        initial="open",
        choices=[("open", "Open"), ("all", "All"), *GroupStatus.choices],
    )
    side = forms.ChoiceField(
        required=False, initial="", choices=[("", "Any side"), ("long", "Long"), ("short", "Short")]
    )
    q = SymbolField(label="Pair")
    timeframe = TimeframeField(label="TF")
    sort = forms.ChoiceField(required=False, initial="opened", choices=list(POSITION_SORTS.items()))
    dir = forms.ChoiceField(required=False, initial="desc", choices=[("asc", "asc"), ("desc", "desc")])
    page = forms.IntegerField(required=False, initial=1, min_value=1, max_value=100_000)


class TimeZoneField(forms.CharField):
    """The browser's IANA zone ("Europe/Berlin"), which the date pickers' wall-clock times are in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, initial="", max_length=64, strip=True, **kwargs)

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if text:
            try:
                ZoneInfo(text)
            except (ZoneInfoNotFoundError, ValueError):
                raise forms.ValidationError(f"unknown time zone {text[:40]!r}") from None
        return text


class LogFilter(_Lenient):
    kind = forms.MultipleChoiceField(required=False, initial=[], choices=[(k, k.title()) for k in LOG_KINDS])
    q = forms.CharField(required=False, initial="", max_length=100, strip=True)
    symbol = SymbolField(label="Symbol")
    timeframe = TimeframeField(label="TF")
    since = forms.DateTimeField(required=False, initial=None, label="From")
    until = forms.DateTimeField(required=False, initial=None, label="To")
    tz = TimeZoneField(label="Time zone")

    def clean(self) -> dict[str, Any]:
        """`since` / `until` are wall-clock times in the browser's zone when the form names one."""
        data = super().clean()
        zone = data.get("tz")
        if zone:
            for name in ("since", "until"):
                if data.get(name):
                    data[name] = data[name].replace(tzinfo=None).replace(tzinfo=ZoneInfo(zone))
        return data


def position_filter(params: QueryDict) -> dict[str, Any]:
    return PositionFilter(params).cleaned()


def position_filter_problems(params: QueryDict) -> list[str]:
    return PositionFilter(params).problems()


def log_filter(params: QueryDict) -> dict[str, Any]:
    return LogFilter(params).cleaned()


def log_filter_problems(params: QueryDict) -> list[str]:
    return LogFilter(params).problems()
