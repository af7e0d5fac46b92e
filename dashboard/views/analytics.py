"""The performance page: filters, server-rendered figures and tables, the chart island's mounts, and
CSV exports of every table and of the equity series."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from django.http import Http404, HttpRequest, HttpResponse

from ..access import console_view
from ..data import analytics as data
from ..data.analytics_export import TABLES, rows
from .base import render_fragment, render_page, state


@console_view
def analytics(request: HttpRequest) -> HttpResponse:
    """The page; an htmx refresh (new closes or snapshots) gets its figures and tables only."""
    if request.htmx and not request.htmx.boosted:
        return render_fragment(request, "console/analytics.html#analytics-tables", data.page(state(request)))
    return render_page(request, "analytics", "console/analytics.html")


@console_view
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    """One table of the page (or the equity series) as CSV, for the page's filters."""
    if table != "equity" and table not in TABLES:
        raise Http404(f"no table {table[:40]!r}; one of: equity, {', '.join(TABLES)}")
    fields, found = rows(table, state(request))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(found)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="analytics-{table}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
