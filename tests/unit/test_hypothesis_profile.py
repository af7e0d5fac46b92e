"""The suite's hypothesis settings: no per-example deadline (tests/conftest.py says why)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_property_tests_have_no_per_example_deadline_under_a_loaded_ci():
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check
