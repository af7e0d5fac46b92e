"""/settings/backup/: download a backup, export the config, import one through a reviewed diff with
optimistic concurrency, and the daily backup settings. Operators read; every write is an admin's."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from trading import config_service
from trading.config_schema import MASK
from trading.models import Event

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures
from .test_console_fixtures import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

NEW_SECRET = "imported-secret-never-shown-42"


def exported(client: Client) -> dict[str, Any]:
    response = client.get("/settings/backup/config.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return json.loads(response.content)


def upload(client: Client, document: dict[str, Any] | str):
    raw = document if isinstance(document, str) else json.dumps(document)
    return client.post(
        "/settings/backup/import/",
        {"document": SimpleUploadedFile("config.json", raw.encode(), content_type="application/json")},
    )


# ---- export ---------------------------------------------------------------------------------


def test_the_export_masks_the_webhook_secret(admin_client: Client, operator_client: Client) -> None:
    for client in (admin_client, operator_client):
        document = exported(client)
        assert document["security"]["webhook_secret"].startswith(MASK)
        assert WEBHOOK_SECRET not in json.dumps(document)


def test_an_export_imported_on_the_same_install_changes_nothing_and_keeps_the_secret(
    admin_client: Client,
) -> None:
    version = config_service.current_version()
    page = upload(admin_client, exported(admin_client)).content.decode()
    assert "nothing would change" in page
    admin_client.post("/settings/backup/import/apply/")
    assert config_service.current().security.webhook_secret == WEBHOOK_SECRET
    assert config_service.current_version() in (version, version + 1)


# ---- import ---------------------------------------------------------------------------------


def test_an_import_shows_the_diff_and_changes_nothing_until_applied(admin_client: Client) -> None:
    document = exported(admin_client)
    document["execution_pool"]["max_open_groups"] = 3
    version = config_service.current_version()

    response = upload(admin_client, document)

    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="diff-row"' in page
    assert "execution_pool.max_open_groups" in page
    assert config_service.current_version() == version
    assert config_service.current().execution_pool.max_open_groups != 3

    assert admin_client.post("/settings/backup/import/apply/").status_code == 302
    assert config_service.current_version() == version + 1
    assert config_service.current().execution_pool.max_open_groups == 3
    saved = Event.objects.get(
        message=f"config v{version + 1} saved from config import (admin in the console)"
    )
    assert saved.severity == Event.Severity.INFO


def test_a_secret_in_an_imported_file_is_applied_but_never_shown(admin_client: Client) -> None:
    document = exported(admin_client)
    document["security"]["webhook_secret"] = NEW_SECRET

    page = upload(admin_client, document).content.decode()
    assert "security.webhook_secret" in page and NEW_SECRET not in page
    applied = admin_client.post("/settings/backup/import/apply/", follow=True).content.decode()

    assert NEW_SECRET not in applied
    assert config_service.current().security.webhook_secret == NEW_SECRET


def test_an_invalid_import_shows_field_errors_and_changes_nothing(admin_client: Client) -> None:
    version = config_service.current_version()
    before = config_service.config_path().read_bytes()
    response = upload(admin_client, {"execution_pool": {"max_open_groups": -1}})

    assert response.status_code == 400
    assert "execution_pool.max_open_groups" in response.content.decode()
    assert admin_client.post("/settings/backup/import/apply/").status_code == 302  # nothing pending
    assert config_service.current_version() == version
    assert config_service.config_path().read_bytes() == before


def test_a_file_that_is_not_json_is_refused(admin_client: Client) -> None:
    response = upload(admin_client, "{ this is not json")
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()


def test_an_import_made_stale_by_another_save_is_refused_and_shown_again(admin_client: Client) -> None:
    document = exported(admin_client)
    document["execution_pool"]["max_open_groups"] = 3
    upload(admin_client, document)
    config_service.update({"risk_engine": {"evaluate_interval_sec": 99}}, source="someone else")
    version = config_service.current_version()

    response = admin_client.post("/settings/backup/import/apply/")

    page = response.content.decode()
    assert "saved by someone else meanwhile" in page and "execution_pool.max_open_groups" in page
    assert config_service.current_version() == version
    assert config_service.current().execution_pool.max_open_groups != 3
    # Reviewed again against the new version: the diff now also shows the file undoing the other
    # save's change, and Apply goes through.
    assert "risk_engine.evaluate_interval_sec" in page
    admin_client.post("/settings/backup/import/apply/")
    assert config_service.current().execution_pool.max_open_groups == 3


# ---- daily backup settings ------------------------------------------------------------------


def test_the_daily_backup_settings_are_saved_through_the_config_service(admin_client: Client) -> None:
    version = config_service.current_version()
    response = admin_client.post(
        "/settings/backup/auto/",
        {"auto_daily": "on", "hour_utc": "5", "keep_last": "14", "directory": "", "based_on": str(version)},
    )
    assert response.status_code == 302
    backup = config_service.current().backup
    assert (backup.auto_daily, backup.hour_utc, backup.keep_last) == (True, 5, 14)


def test_invalid_daily_backup_settings_show_the_error_and_change_nothing(admin_client: Client) -> None:
    version = config_service.current_version()
    response = admin_client.post(
        "/settings/backup/auto/", {"auto_daily": "on", "hour_utc": "25", "keep_last": "7", "directory": ""}
    )
    assert response.status_code == 400 and "backup.hour_utc" in response.content.decode()
    assert config_service.current_version() == version
    assert config_service.current().backup.auto_daily is False


def test_a_stale_daily_backup_form_is_refused(admin_client: Client) -> None:
    stale = config_service.current_version()
    config_service.update({"risk_engine": {"evaluate_interval_sec": 99}}, source="someone else")
    response = admin_client.post(
        "/settings/backup/auto/",
        {"auto_daily": "on", "hour_utc": "5", "keep_last": "7", "directory": "", "based_on": str(stale)},
        follow=True,
    )
    assert "the config changed meanwhile" in response.content.decode()
    assert config_service.current().backup.auto_daily is False


# ---- the page, the download, and who may do what --------------------------------------------


def test_the_page_says_keys_stay_encrypted_and_where_this_installs_key_comes_from(
    operator_client: Client,
) -> None:
    page = operator_client.get("/settings/backup/").content.decode()
    assert "API keys in a backup stay encrypted" in page
    assert "FIELD_ENCRYPTION_KEY" in page and 'data-testid="key-source"' in page
    assert WEBHOOK_SECRET not in page


@pytest.mark.django_db(transaction=True)
def test_the_download_streams_a_backup_archive_and_leaves_no_file_behind(admin_user) -> None:
    from trading.bootstrap import prepare

    prepare(migrate=False)
    client = Client()
    client.force_login(admin_user)
    response = client.post("/settings/backup/download/", {"format": "json"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="tv-engine-backup-')
    name = response["Content-Disposition"].split('filename="')[1].rstrip('"')
    (archive_path,) = Path(tempfile.gettempdir()).glob(f"tv-engine-download-*/{name}")  # streamed from...
    body = b"".join(response.streaming_content)
    response.close()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        names = archive.getnames()
    assert "manifest.json" in names and "config.json" in names
    assert not archive_path.exists() and not archive_path.parent.exists()  # ... gone once sent
    assert Event.objects.filter(message__contains="downloaded (by admin in the console)").exists()


def test_the_operator_gets_403_on_every_backup_write_and_nothing_changes(operator_client: Client) -> None:
    version = config_service.current_version()
    writes = [
        ("/settings/backup/download/", {}),
        ("/settings/backup/import/", {"text": json.dumps({"execution_pool": {"max_open_groups": 3}})}),
        ("/settings/backup/import/apply/", {}),
        ("/settings/backup/import/cancel/", {}),
        ("/settings/backup/auto/", {"auto_daily": "on", "hour_utc": "5", "keep_last": "7"}),
    ]
    for url, data in writes:
        assert operator_client.post(url, data).status_code == 403, url
    assert config_service.current_version() == version
