"""Every console page names its install (`app.instance_name`) and shows whether it trades real money
(`app.mode`): with several installs open in tabs, the operator must see which one is which."""

from __future__ import annotations

import pytest
from django.test import Client

from trading import config_service

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import body

pytestmark = pytest.mark.django_db


def test_page_title_and_header_name_the_instance(admin_client: Client) -> None:
    config_service.update({"app": {"instance_name": "desk-7"}}, source="test")
    html = body(admin_client.get("/"))
    assert "<title>Dashboard · desk-7 · TV Engine</title>" in html
    assert '<span class="instance-name" data-testid="instance-name">desk-7</span>' in html


@pytest.mark.parametrize(("mode", "shown"), [("paper", "PAPER"), ("live", "LIVE")])
def test_header_shows_the_trading_mode(admin_client: Client, mode: str, shown: str) -> None:
    config_service.update({"app": {"mode": mode}}, source="test")
    html = body(admin_client.get("/positions/"))
    assert f'class="mode-badge mode-{mode}" data-testid="app-mode"' in html
    assert f">{shown}</span>" in html
