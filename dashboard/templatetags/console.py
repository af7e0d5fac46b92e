"""Template filters for a trading console: prices and quantities on the market's grid
(`dashboard.data.grid`), USD and percentages with two decimals, signs, PnL colours, and times the
browser shows in its own zone (`data-local`) or keeps ticking (`data-ago`, `data-countdown`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from trading.core.numbers import fmt

from ..data.grid import NO_GRID, Grid, fixed

register = template.Library()


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _grouped(text: str, places: int) -> str:
    """'-1234.5' → '-1,234.50' (thousands separators, fixed decimals)."""
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * places)[:places]
    whole = f"{int(whole):,}"
    return sign + whole + ("." + frac if places else "")


@register.filter
def num(value: Any, places: Any = None) -> str:
    """A price or quantity exactly as stored, without trailing zeros (optionally rounded)."""
    value = _dec(value)
    if value is None:
        return "–"
    return fmt(value, int(places) if places not in (None, "") else None)


@register.filter
def price(value: Any, grid: Grid | None = None) -> str:
    """A price at the market's tick (nearest), e.g. '42998.93' on a 0.01 tick."""
    value = _dec(value)
    return "–" if value is None else (grid or NO_GRID).price(value)


@register.filter
def target(value: Any, grid: Grid | None = None) -> str:
    """A take-profit target as the first tick that reaches it (a long's rounds up)."""
    value = _dec(value)
    return "–" if value is None else (grid or NO_GRID).target(value)


@register.filter
def qty(value: Any, grid: Grid | None = None) -> str:
    """A quantity floored to the market's step, with the step's decimals."""
    value = _dec(value)
    return "–" if value is None else (grid or NO_GRID).qty(value)


@register.filter
def fixed2(value: Any) -> str:
    """A plain figure with exactly two decimals (weights, progress): '12.50'."""
    value = _dec(value)
    return "–" if value is None else fixed(value, 2)


@register.filter
def money(value: Any, places: int = 2) -> str:
    """USD: '$1,234.50', '-$12.30'."""
    value = _dec(value)
    if value is None:
        return "–"
    text = _grouped(fmt(value, places), places)
    return "-$" + text[1:] if text.startswith("-") else "$" + text


@register.filter
def signed_money(value: Any) -> str:
    value = _dec(value)
    if value is None:
        return "–"
    text = money(value)
    return text if text.startswith("-") or value == 0 else "+" + text


@register.filter
def pct(value: Any, places: int = 2) -> str:
    """'+1.25 %', '-0.40 %'."""
    value = _dec(value)
    if value is None:
        return "–"
    text = _grouped(fmt(value, places), places)
    return f"{'' if text.startswith('-') or value == 0 else '+'}{text} %"


@register.filter
def plain_pct(value: Any, places: int = 2) -> str:
    value = _dec(value)
    return "–" if value is None else fixed(value, int(places)) + " %"


@register.filter
def share(value: Any) -> str:
    """A fraction as a percentage: 0.25 → '25.00 %'."""
    value = _dec(value)
    return "–" if value is None else fixed(value * 100, 2) + " %"


@register.filter
def pnl_class(value: Any) -> str:
    value = _dec(value)
    if value is None or value == 0:
        return "flat"
    return "pos" if value > 0 else "neg"


def _human(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


@register.filter
def duration(value: timedelta | None) -> str:
    return "–" if value is None else _human(value)


@register.filter
def ago(value: datetime | None) -> str:
    """A timestamp as '12 s ago' that keeps counting in the browser."""
    if value is None:
        return mark_safe('<span class="muted">never</span>')
    text = _human(datetime.now(UTC) - value) + " ago"
    return format_html(
        '<time datetime="{}" data-ago title="{}">{}</time>',
        value.isoformat(),
        value.strftime("%Y-%m-%d %H:%M:%S UTC"),
        text,
    )


@register.filter
def countdown(value: datetime | None) -> str:
    """Time left until `value`, counting down live ('elapsed' once reached)."""
    if value is None:
        return mark_safe('<span class="muted">not started</span>')
    left = value - datetime.now(UTC)
    text = _human(left) + " left" if left.total_seconds() > 0 else "elapsed"
    return format_html('<time datetime="{}" data-countdown>{}</time>', value.isoformat(), text)


@register.filter
def utc(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


@register.filter
def wallclock(value: datetime | None, zone: str = "") -> str:
    """A moment as a datetime-local input shows it, in the browser's zone (`tz` of the form)."""
    if value is None:
        return ""
    try:
        value = value.astimezone(ZoneInfo(zone)) if zone else value.astimezone(UTC)
    except (ZoneInfoNotFoundError, ValueError):
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M")


@register.filter
def when(value: datetime | None) -> str:
    """A moment in the browser's time zone, with the zone ('2026-01-05 13:04:10 CET'); UTC on hover.

    Rendered in UTC (what a page without scripts shows); the console's script rewrites it.
    """
    if value is None:
        return mark_safe('<span class="muted">–</span>')
    stamp = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" data-local title="{}">{}</time>', value.isoformat(), stamp, stamp)


@register.simple_tag
def qs(query: dict[str, Any], **changes: Any) -> str:
    """A query string from the page's filters with some values changed ('?status=open&sort=pnl')."""
    merged = {**query, **changes}
    pairs = []
    for key, value in merged.items():
        if value in (None, "", []):
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return "?" + urlencode(pairs)


@register.simple_tag
def sortlink(
    filters: dict[str, Any], query: dict[str, Any], key: str, label: str, default: str = "desc"
) -> str:
    """A column header link: first click sorts `default`, the next flips the direction."""
    on = filters.get("sort") == key
    direction = ("asc" if filters.get("dir") == "desc" else "desc") if on else default
    css = f"sort on {filters.get('dir')}" if on else "sort"
    arrow = ("▲" if filters.get("dir") == "asc" else "▼") if on else ""
    return format_html(
        '<a href="{}" class="{}">{} {}</a>', qs(query, sort=key, dir=direction, page=None), css, label, arrow
    )


@register.filter
def words(value: Any) -> str:
    """A code as words: 'pool_full' → 'pool full'."""
    return str(value or "").replace("_", " ")


@register.filter
def get(mapping: dict, key: Any) -> Any:
    return mapping.get(key) if mapping else None
