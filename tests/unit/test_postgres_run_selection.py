"""The PostgreSQL run leaves out only tests that cannot reach the database (tests/conftest.py):
whatever asks for the database, directly or through a fixture, runs on both."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import _same_on_any_database


@dataclass
class FakeItem:
    nodeid: str
    fixturenames: list[str] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.markers else None


@pytest.mark.parametrize(
    "item",
    [
        FakeItem("tests/unit/test_ladder.py::test_weights_sum_to_100"),
        FakeItem("tests/e2e/test_run_command.py::test_webhook_to_fill", ["tmp_path"]),
        FakeItem("tests/integration/test_replay.py::test_skipping", markers={"database_independent"}),
    ],
    ids=["pure-unit", "e2e-own-sqlite", "marked"],
)
def test_a_test_that_cannot_reach_the_database_runs_once(item: FakeItem) -> None:
    assert _same_on_any_database(item)


@pytest.mark.parametrize(
    "item",
    [
        FakeItem("tests/unit/test_desktop_setup_page.py::test_page", markers={"django_db"}),
        FakeItem("tests/unit/test_x.py::test_through_a_fixture", ["driver", "engine", "db"]),
        FakeItem("tests/e2e/test_x.py::test_live", ["live_server"]),
        FakeItem("tests/integration/test_x.py::test_transactional", ["transactional_db"]),
        # No database fixture, but its subprocesses may be handed DATABASE_URL (tests/reliability).
        FakeItem("tests/reliability/test_crash_recovery.py::test_kill", ["tmp_path"]),
        FakeItem("tests/integration/test_db_unavailable.py::test_cut"),
        # Marked, yet it asks for the database: the fixture wins.
        FakeItem("tests/integration/test_x.py::test_both", ["db"], {"database_independent"}),
    ],
    ids=[
        "db-marker",
        "db-via-fixture",
        "live-server",
        "transactional",
        "reliability",
        "integration",
        "marked-but-db",
    ],
)
def test_a_test_that_may_reach_the_database_runs_on_postgresql_too(item: FakeItem) -> None:
    assert not _same_on_any_database(item)
