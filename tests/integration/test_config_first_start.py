"""A fresh database: the first requests all find no configuration and create it at once."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from trading import config_service
from trading.models import ConfigDocument

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite serialises writers; the race needs concurrent writers")
def test_concurrent_first_requests_on_a_fresh_database_all_get_the_config():
    ConfigDocument.objects.all().delete()
    config_service.config_path().unlink(missing_ok=True)
    config_service._cache = None
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def first_request() -> None:
        try:
            start.wait()
            config_service.current()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert ConfigDocument.objects.count() == 1
