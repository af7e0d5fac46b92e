"""/settings/: the form generated from the schema, review and apply through the config service, stale
forms refused, secrets kept and masked, every change audited, operators read only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from dashboard import urls as console_urls
from dashboard.settings_forms import specs
from trading import config_service
from trading.config_schema import MASK, SECTIONS
from trading.models import Event

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import WEBHOOK_SECRET, body

pytestmark = pytest.mark.django_db


def form_of(client: Client) -> dict[str, Any]:
    """What the browser would post: every input of the rendered form, as rendered."""
    html = body(client.get("/settings/"))
    data: dict[str, list[str]] = {}
    form = html[html.index('id="settings-form"') : html.index('id="settings-review"')]
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>(?:[^<]*</textarea>)?", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1).startswith("preview_") or name.group(1) in ("move", "op", "reset"):
            continue
        if tag.startswith("<select"):
            start = html.index(tag)
            chosen = re.search(
                r'<option value="([^"]*)" selected', html[start : html.index("</select>", start)]
            )
            value = chosen.group(1) if chosen else ""
        elif tag.startswith("<textarea"):
            value = re.sub(r"<[^>]+>", "", tag[tag.index(">") + 1 :]).replace("&#10;", "\n")
        else:
            if 'type="checkbox"' in tag and "checked" not in tag:
                continue
            found = re.search(r'value="([^"]*)"', tag)
            value = found.group(1) if found else ""
        data.setdefault(name.group(1), []).append(value.replace("&amp;", "&"))
    return data


def post(client: Client, url: str, data: dict[str, Any], **changes: Any) -> Any:
    values = {**data, **{k.replace("__", "."): v for k, v in changes.items()}}
    return client.post(url, values, headers={"HX-Request": "true"})


def stored_file() -> bytes:
    return config_service.config_path().read_bytes()


# --- rendering -----------------------------------------------------------------------------


def test_the_form_has_an_input_for_every_field_of_every_section_in_the_schema(admin_client: Client) -> None:
    html = body(admin_client.get("/settings/"))
    for section, model in SECTIONS.items():
        assert f'id="section-{section}"' in html, section
        for field in model.model_fields:
            if field == "dca_levels":
                assert f'name="{section}.{field}.0.gap_percent"' in html
            else:
                assert f'name="{section}.{field}"' in html, f"{section}.{field}"


def test_choices_render_as_selects_and_the_secret_as_a_masked_password(admin_client: Client) -> None:
    html = body(admin_client.get("/settings/"))
    assert '<select id="setting-app-mode" name="app.mode">' in html
    assert 'type="password" id="setting-security-webhook-secret"' in html
    assert WEBHOOK_SECRET not in html
    assert f'value="{MASK}{WEBHOOK_SECRET[-2:]}"' in html


def test_the_operator_sees_the_settings_read_only(operator_client: Client) -> None:
    html = body(operator_client.get("/settings/"))
    assert html.count("<fieldset") == len(SECTIONS)
    assert html.count("<fieldset") == len(re.findall(r"<fieldset[^>]*\bdisabled\b", html))
    assert 'data-testid="review"' not in html and 'data-testid="reset-app"' not in html


def _write_routes() -> list[str]:
    """Every settings route without URL arguments that takes no GET (the writes)."""
    return [
        reverse(p.name)
        for p in console_urls.urlpatterns
        if isinstance(p, URLPattern)
        and (p.name or "").startswith("console-settings")
        and not p.pattern.converters
    ]


def test_the_operator_gets_403_on_every_settings_write_and_nothing_changes(
    operator_client: Client, admin_client: Client
) -> None:
    data = form_of(admin_client)
    version, before = config_service.current_version(), stored_file()
    writes = [url for url in _write_routes() if operator_client.get(url).status_code == 405]
    assert {"/settings/review/", "/settings/apply/"} <= set(writes)
    for url in writes:
        assert post(operator_client, url, data, app__instance_name="hijacked").status_code == 403, url
    assert config_service.current_version() == version
    assert stored_file() == before


# --- validation ------------------------------------------------------------------------------


def test_invalid_input_shows_the_error_at_its_field_and_changes_nothing(admin_client: Client) -> None:
    data = form_of(admin_client)
    version, before = config_service.current_version(), stored_file()
    for url in ("/settings/review/", "/settings/apply/"):
        response = post(
            admin_client, url, data, app__engine_poll_interval_ms="5", exchange__paper_fee_percent="x"
        )
        html = body(response)
        assert 'data-testid="review-invalid"' in html
        poll = re.search(r'id="setting-app-engine-poll-interval-ms-errors"[^>]*>(.*?)</div>', html).group(1)
        assert "greater than or equal to 20" in poll
        fee = re.search(r'id="setting-exchange-paper-fee-percent-errors"[^>]*>(.*?)</div>', html).group(1)
        assert fee
        assert 'data-testid="apply"' not in html
    assert config_service.current_version() == version
    assert stored_file() == before


def test_a_broken_ladder_reports_each_level_and_the_weight_total(admin_client: Client) -> None:
    data = form_of(admin_client)
    html = body(
        post(
            admin_client,
            "/settings/review/",
            data,
            grid_strategy__dca_levels__1__gap_percent="-3",
            grid_strategy__dca_levels__2__weight_percent="30",
        )
    )
    ladder = re.search(r'id="ladder-errors"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "DCA2 gap %: must be below the previous level" in ladder
    assert "weights must sum to exactly 100 (got 110)" in ladder


# --- review and apply ------------------------------------------------------------------------


def test_review_shows_old_and_new_and_saves_nothing(admin_client: Client) -> None:
    data = form_of(admin_client)
    version = config_service.current_version()
    html = body(post(admin_client, "/settings/review/", data, execution_pool__max_open_groups="7"))
    assert re.search(r'data-field="execution_pool.max_open_groups">.*?>10<.*?>7<', html, re.S)
    assert 'data-testid="apply"' in html
    assert config_service.current_version() == version


def test_apply_saves_the_change_with_the_form_version(admin_client: Client) -> None:
    data = form_of(admin_client)
    version = config_service.current_version()
    html = body(post(admin_client, "/settings/apply/", data, execution_pool__max_open_groups="7"))
    assert 'data-testid="review-applied"' in html
    assert config_service.current_version() == version + 1
    assert config_service.current().execution_pool.max_open_groups == 7
    # The form now carries the new version, so the next change is not refused as stale.
    assert f'name="based_on" value="{version + 1}"' in html


def test_applying_an_unchanged_form_saves_nothing(admin_client: Client) -> None:
    version, before = config_service.current_version(), stored_file()
    html = body(post(admin_client, "/settings/apply/", form_of(admin_client)))
    assert 'data-testid="review-nothing"' in html
    assert config_service.current_version() == version
    assert stored_file() == before


def test_every_applied_change_is_an_audit_event_with_who_what_and_the_secret_masked(
    admin_client: Client,
) -> None:
    data = form_of(admin_client)
    new_secret = "a-brand-new-webhook-secret-42"
    post(
        admin_client,
        "/settings/apply/",
        data,
        security__webhook_secret=new_secret,
        app__instance_name="desk-2",
    )
    event = Event.objects.filter(message__contains="saved from console by admin").get()
    changes = {c["field"]: (c["old"], c["new"]) for c in event.context["changes"]}
    assert changes["app.instance_name"] == ("tv-engine", "desk-2")
    assert changes["security.webhook_secret"] == (MASK + WEBHOOK_SECRET[-2:], MASK + new_secret[-2:])
    assert new_secret not in json.dumps(event.context) and WEBHOOK_SECRET not in json.dumps(event.context)
    assert config_service.current().security.webhook_secret == new_secret


def test_a_masked_secret_sent_back_unchanged_keeps_the_stored_secret(admin_client: Client) -> None:
    data = form_of(admin_client)
    assert data["security.webhook_secret"] == [MASK + WEBHOOK_SECRET[-2:]]
    post(admin_client, "/settings/apply/", data, app__instance_name="desk-3")
    assert config_service.current().app.instance_name == "desk-3"
    assert config_service.current().security.webhook_secret == WEBHOOK_SECRET


def test_a_stale_form_is_refused_with_what_changed_meanwhile(admin_client: Client) -> None:
    data = form_of(admin_client)
    config_service.update({"risk_engine": {"max_winners_to_combine": 5}}, source="api")
    version, before = config_service.current_version(), stored_file()
    for url in ("/settings/review/", "/settings/apply/"):
        html = body(post(admin_client, url, data, execution_pool__max_open_groups="7"))
        assert 'data-testid="review-stale"' in html
        assert re.search(r'data-field="risk_engine.max_winners_to_combine">.*?>3<.*?>5<', html, re.S)
    assert config_service.current_version() == version
    assert stored_file() == before
    assert config_service.current().execution_pool.max_open_groups == 10


def test_reset_a_section_to_defaults_through_review_and_apply(admin_client: Client) -> None:
    config_service.update({"risk_engine": {"max_winners_to_combine": 5, "enabled": False}}, source="test")
    data = form_of(admin_client)
    review = body(post(admin_client, "/settings/review/", data, reset="risk_engine"))
    assert re.search(r'data-field="risk_engine.enabled">.*?>off<.*?>on<', review, re.S)
    assert 'value="risk_engine"' in review  # the Apply button applies the reset, not the form
    assert config_service.current().risk_engine.enabled is False
    post(admin_client, "/settings/apply/", data, reset="risk_engine")
    assert config_service.current().risk_engine.max_winners_to_combine == 3
    assert config_service.current().risk_engine.enabled is True


def test_resetting_security_keeps_the_webhook_secret(admin_client: Client) -> None:
    config_service.update({"security": {"require_hmac": True}}, source="test")
    post(admin_client, "/settings/apply/", form_of(admin_client), reset="security")
    assert config_service.current().security.require_hmac is False
    assert config_service.current().security.webhook_secret == WEBHOOK_SECRET


def test_a_theme_change_reaches_the_open_page_without_a_reload(admin_client: Client) -> None:
    response = post(admin_client, "/settings/apply/", form_of(admin_client), ui__theme="light")
    assert json.loads(response["HX-Trigger"])["uiChanged"]["theme"] == "light"


# --- the ordered list ----------------------------------------------------------------------------


def test_selection_priority_moves_up_and_saves_in_the_new_order(admin_client: Client) -> None:
    data = form_of(admin_client)
    order = data["waiting_rule.selection_priority.order"]
    moved = body(
        admin_client.get(
            "/settings/ordered/",
            {
                "field": "waiting_rule.selection_priority",
                "waiting_rule.selection_priority.order": order,
                "waiting_rule.selection_priority": order,
                "move": "fifo:up",
            },
        )
    )
    shown = re.findall(r'name="waiting_rule.selection_priority.order" value="([^"]+)"', moved)
    assert shown == [*order[:-2], "fifo", order[-2]]
    post(admin_client, "/settings/apply/", data, waiting_rule__selection_priority=shown[:2])
    assert config_service.current().waiting_rule.selection_priority == tuple(shown[:2])


def test_settings_forms_cover_every_schema_field_once() -> None:
    keys = [spec.key for spec in specs()]
    assert len(keys) == len(set(keys)) == sum(len(model.model_fields) for model in SECTIONS.values())


@pytest.mark.parametrize("path", ["/", "/settings/", "/settings/accounts/", "/settings/backup/"])
def test_every_console_page_opens_in_the_configured_font_size(admin_client: Client, path: str) -> None:
    """ui.font_size applies to every page of the console, the settings screens included (the
    accounts and backup screens once rendered the layout without it, so they fell back to medium)."""
    config_service.update({"ui": {"font_size": "large"}}, source="test")
    assert 'data-font-size="large"' in body(admin_client.get(path))
