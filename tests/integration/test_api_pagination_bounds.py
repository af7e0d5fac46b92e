"""Every list endpoint bounds `limit` and `offset` in its schema: out of range is a 422, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory, reset_config
from trading.api.schemas import MAX_LIMIT, MAX_OFFSET

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/groups", "/api/v1/queue", "/api/v1/signals", "/api/v1/events", "/api/v1/trades"]


@pytest.fixture
def api() -> Client:
    reset_config()
    # A 500 must come back as a response here, not be re-raised into the test.
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}", raise_request_exception=False
    )


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", [MAX_OFFSET + 1, 2**63], ids=["past-the-bound", "past-64-bits"])
def test_an_offset_out_of_range_is_422_on_every_list_endpoint(api: Client, path: str, offset: int) -> None:
    response = api.get(f"{path}?offset={offset}")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][-1] == "offset"
    largest = api.get(f"{path}?offset={MAX_OFFSET}&limit={MAX_LIMIT}")
    assert largest.status_code == 200 and largest.json()["items"] == []


def test_every_endpoint_that_pages_declares_both_bounds_in_openapi(api: Client) -> None:
    schema = api.get("/api/v1/openapi.json").json()
    paged = {}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            params = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "offset" in params or "limit" in params:
                paged[path] = (params["limit"], params["offset"])
    assert sorted(paged) == sorted(LISTS)  # a new list endpoint joins this test
    for limit, offset in paged.values():
        assert (limit["minimum"], limit["maximum"]) == (1, MAX_LIMIT)
        assert (offset["minimum"], offset["maximum"]) == (0, MAX_OFFSET)
