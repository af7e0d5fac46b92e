"""/settings/backup/: download a backup, export and import the config JSON, the daily backup settings.

- Download (admins): `trading.backup.service.create_backup` writes the archive into a temporary
  folder; it is streamed back and deleted once sent. It holds config.json with the webhook secret
  and the API keys still encrypted, which is why operators may not download it.
- Export: the config document with the webhook secret masked, like `GET /api/v1/config`. Imported
  on this install the mask keeps the stored secret; on another install it keeps that install's own.
- Import (admins): the uploaded JSON is validated by the config service against the config in
  force and shown as a diff; "Apply" saves it with the version the diff was made from, so a config
  saved by someone else in between is refused and the diff shown again. The pending document
  waits in the server-side session, never in the page: it may carry a real webhook secret.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect

from trading import config_diff, config_service, events
from trading.backup import KEY_NOTE, BackupError
from trading.backup.service import create_backup
from trading.config_schema import ConfigInvalid, masked_document, merge_update
from trading.config_service import ConfigConflict
from trading.engine.auto_backup import backup_files, backup_folder

from ..access import console_action, console_view
from .accounts import settings_page

PAGE_URL = "/settings/backup/"
PENDING = "config_import"  # session key of an import waiting for "Apply"
MAX_IMPORT_BYTES = 256 * 1024


class _DeletedWhenClosed(io.FileIO):
    """The archive, removed (with its temporary folder) once the response has sent it."""

    def close(self) -> None:
        super().close()
        shutil.rmtree(Path(str(self.name)).parent, ignore_errors=True)


def _actor(request: HttpRequest) -> str:
    return f"{request.user.get_username()} in the console"


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:  # deleted by the retention job a moment ago
        return None


def _page(request: HttpRequest, extra: dict[str, Any] | None = None, *, status: int = 200) -> HttpResponse:
    section = config_service.current().backup
    folder = backup_folder(section)
    files = [
        (name, size) for name in reversed(backup_files(folder)) if (size := _size(folder / name)) is not None
    ]
    context = {
        "key_note": KEY_NOTE,
        "key_source": settings.FIELD_ENCRYPTION_KEY_SOURCE,
        "backup": section,
        "folder": folder,
        "files": files[:20],
        "config_version": config_service.current_version(),
        **(extra or {}),
    }
    return settings_page(request, "console/settings_backup.html", context, status=status)


@console_view
def backup_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@console_action
def download(request: HttpRequest) -> HttpResponse:
    """Build a backup now and stream it (`format=json`: the portable database dump)."""
    db_format = "json" if request.POST.get("format") == "json" else "auto"
    now = datetime.now(UTC)
    folder = Path(tempfile.mkdtemp(prefix="tv-engine-download-"))
    try:
        done = create_backup(
            folder / f"tv-engine-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz", db_format=db_format, now=now
        )
    except (BackupError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        messages.error(request, f"Backup failed: {exc}")
        return redirect(PAGE_URL)
    events.record(events.Category.ENGINE, f"backup {done.path.name} downloaded (by {_actor(request)})")
    return FileResponse(
        _DeletedWhenClosed(done.path),
        as_attachment=True,
        filename=done.path.name,
        content_type="application/gzip",
    )


@console_view
def export_config(request: HttpRequest) -> HttpResponse:
    """The config document, webhook secret masked (see the module docstring for why)."""
    version = config_service.current_version()
    body = json.dumps(masked_document(config_service.current()), indent=2) + "\n"
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="tv-engine-config-v{version}.json"'
    return response


def _uploaded_document(request: HttpRequest) -> tuple[dict | None, str]:
    """The posted JSON (file or pasted text) as a dict, or None and why not."""
    upload = request.FILES.get("document")
    if upload is not None:
        if upload.size > MAX_IMPORT_BYTES:
            return None, f"the file is larger than {MAX_IMPORT_BYTES // 1024} KiB: not a config document"
        raw = upload.read()
    else:
        raw = request.POST.get("text", "").encode()
    if not raw.strip():
        return None, "choose a config JSON file (or paste one)"
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON: {exc}"
    if not isinstance(document, dict):
        return None, "the configuration must be a JSON object"
    return document, ""


def _review(request: HttpRequest, document: dict, *, note: str = "") -> HttpResponse:
    """Validate `document` against the config in force and show what applying it would change."""
    version = config_service.current_version()
    current = config_service.current()
    try:
        proposed = merge_update(current, document)
    except ConfigInvalid as exc:
        request.session.pop(PENDING, None)
        return _page(request, {"import_errors": exc.errors}, status=400)
    request.session[PENDING] = {"document": document, "based_on": version}
    changes = config_diff.diff(current, proposed)
    return _page(request, {"import_changes": changes, "import_pending": True, "import_note": note})


@console_action
def import_review(request: HttpRequest) -> HttpResponse:
    document, problem = _uploaded_document(request)
    if document is None:
        request.session.pop(PENDING, None)
        return _page(request, {"import_errors": [{"field": "", "message": problem}]}, status=400)
    return _review(request, document)


@console_action
def import_apply(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending:
        messages.error(request, "Nothing to apply: upload the config JSON again.")
        return redirect(PAGE_URL)
    try:
        config_service.update(
            pending["document"],
            source=f"config import ({_actor(request)})",
            expected_version=pending["based_on"],
        )
    except ConfigConflict as exc:
        note = (
            f"The config was saved by someone else meanwhile (now v{exc.current}): review the changes again."
        )
        return _review(request, pending["document"], note=note)
    except ConfigInvalid as exc:
        request.session.pop(PENDING, None)
        return _page(request, {"import_errors": exc.errors}, status=400)
    request.session.pop(PENDING, None)
    messages.success(
        request,
        f"Config imported as v{config_service.current_version()}; the engine applies it at its next tick.",
    )
    return redirect(PAGE_URL)


@console_action
def import_cancel(request: HttpRequest) -> HttpResponse:
    request.session.pop(PENDING, None)
    return redirect(PAGE_URL)


@console_action
def auto_settings(request: HttpRequest) -> HttpResponse:
    """Save the `backup` section (daily backup on/off, hour, how many kept, folder)."""
    post = request.POST
    incoming = {
        "backup": {
            "auto_daily": post.get("auto_daily") == "on",
            "hour_utc": post.get("hour_utc", ""),
            "keep_last": post.get("keep_last", ""),
            "directory": post.get("directory", ""),
        }
    }
    based_on = post.get("based_on", "")
    try:
        config_service.update(
            incoming,
            source=f"backup settings ({_actor(request)})",
            expected_version=int(based_on) if based_on.isdigit() else None,
        )
    except ConfigConflict as exc:
        messages.error(
            request, f"Not saved: the config changed meanwhile (now v{exc.current}); check and save again."
        )
        return redirect(PAGE_URL)
    except ConfigInvalid as exc:
        return _page(request, {"auto_errors": exc.errors, "auto_posted": incoming["backup"]}, status=400)
    messages.success(request, "Daily backup settings saved.")
    return redirect(PAGE_URL)
