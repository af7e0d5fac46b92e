"""Each reliability test gets an install of its own (data dir, and its own PostgreSQL database)."""

from __future__ import annotations

import pytest

from tests.reliability.world import Install


@pytest.fixture
def install(tmp_path):
    world = Install.create(tmp_path)
    yield world
    print(world.tail())  # shown when the test fails: the engine's own account of what happened
    world.destroy()
