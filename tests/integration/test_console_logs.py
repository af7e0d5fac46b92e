"""Log exports stream the filtered view as .txt, .csv and .json; the live tail sends only news."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.http import QueryDict, StreamingHttpResponse
from django.test import Client

from dashboard.data import logs
from dashboard.data.state import ViewState
from dashboard.exports import BATCH
from tests.factories import T0, EventFactory
from trading.models import Event

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(db: Any) -> list[Event]:
    return [
        EventFactory(
            category="order",
            severity="error",
            symbol="BTC/USDT",
            timeframe="15",
            message="order rejected, code -2010",
        ),
        EventFactory(
            category="webhook", severity="info", symbol="BTC/USDT", timeframe="15", message="webhook accepted"
        ),
        EventFactory(
            category="precision", severity="warning", symbol="ETH/USDT", timeframe="60", message="rules stale"
        ),
        EventFactory(
            category="engine", severity="info", symbol="", timeframe="", message='engine started, "quoted"'
        ),
    ]


def test_csv_export_streams_the_filtered_rows(operator_client: Client, events: list[Event]) -> None:
    response = operator_client.get("/logs/export.csv?symbol=BTC/USDT")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert (
        response["Content-Disposition"].startswith('attachment; filename="events-')
        and ".csv" in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["message"] for r in rows] == ["order rejected, code -2010", "webhook accepted"]
    assert rows[0]["severity"] == "error" and rows[0]["category"] == "order" and rows[0]["timeframe"] == "15"


def test_json_export_is_one_valid_array(operator_client: Client, events: list[Event]) -> None:
    response = operator_client.get("/logs/export.json?kind=warning&kind=error")
    assert isinstance(response, StreamingHttpResponse) and response["Content-Type"].startswith(
        "application/json"
    )
    data = json.loads(body(response))
    assert [row["message"] for row in data] == ["order rejected, code -2010", "rules stale"]
    assert set(data[0]) == set(logs.EXPORT_FIELDS)


def test_empty_json_export_is_an_empty_array(operator_client: Client) -> None:
    assert json.loads(body(operator_client.get("/logs/export.json?q=nothing-matches"))) == []


def test_txt_export_is_one_line_per_event(operator_client: Client, events: list[Event]) -> None:
    response = operator_client.get("/logs/export.txt?q=engine")
    assert response["Content-Type"].startswith("text/plain")
    lines = body(response).splitlines()
    assert len(lines) == 1 and "INFO" in lines[0] and 'engine started, "quoted"' in lines[0]


def test_export_filters_by_date_range(operator_client: Client, events: list[Event]) -> None:
    since = events[1].created_at.strftime("%Y-%m-%dT%H:%M:%S")
    until = events[2].created_at.strftime("%Y-%m-%dT%H:%M:%S")
    data = json.loads(body(operator_client.get(f"/logs/export.json?since={since}&until={until}")))
    assert [row["message"] for row in data] == ["webhook accepted", "rules stale"]


def test_a_large_export_is_sent_in_batches(operator_client: Client) -> None:
    Event.objects.bulk_create(
        Event(created_at=T0, category="order", severity="info", message=f"fill {i}")
        for i in range(BATCH * 2 + 7)
    )
    response = operator_client.get("/logs/export.csv")
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # the header, then one chunk per batch of rows
    assert sum(chunk.count(b"\n") for chunk in chunks) == Event.objects.count() + 1


def test_unknown_export_format_is_404(operator_client: Client) -> None:
    assert operator_client.get("/logs/export.xml").status_code == 404


def test_the_page_links_exports_with_its_filters(admin_client: Client, events: list[Event]) -> None:
    html = body(admin_client.get("/logs/?kind=error&symbol=BTC%2FUSDT"))
    assert 'href="/logs/export.csv?kind=error&amp;symbol=BTC%2FUSDT"' in html


def test_the_live_tail_sends_only_new_matching_events(admin_user: Any, events: list[Event]) -> None:
    view = ViewState(user=admin_user, params=QueryDict("kind=error"))
    page = logs.page(view)
    view.cursor["after"] = page["after"]
    assert logs.stream(view)["events"] == []
    EventFactory(category="order", severity="info", message="not an error")
    new_error = EventFactory(category="order", severity="error", message="rate limit")
    assert logs.stream(view)["events"] == [new_error]
    assert logs.stream(view)["events"] == []  # the cursor moved on
