"""The archive file: a staging directory packed into .tar.gz or .zip, and unpacked after checks."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from . import BackupError, RestoreRefused
from .manifest import MANIFEST_NAME

SUFFIXES = (".tar.gz", ".tgz", ".zip")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def members(staging: Path) -> dict[str, str]:
    """Every file under `staging` (relative POSIX path) → its sha256."""
    return {
        path.relative_to(staging).as_posix(): sha256(path)
        for path in sorted(staging.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
    }


def pack(staging: Path, output: Path) -> None:
    """Write `staging` as the archive at `output` (by its suffix), atomically and readable by the owner
    only: it holds config.json, and with it the webhook secret."""
    if not output.name.endswith(SUFFIXES):
        raise BackupError(f"{output}: the output must end in .tar.gz, .tgz or .zip")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=".backup-", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        files = [p for p in sorted(staging.rglob("*")) if p.is_file()]
        if output.name.endswith(".zip"):
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                for path in files:
                    zf.write(path, path.relative_to(staging).as_posix())
        else:
            with tarfile.open(tmp, "w:gz") as tf:
                for path in files:
                    tf.add(path, arcname=path.relative_to(staging).as_posix(), recursive=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def unpack(archive: Path, dest: Path) -> dict[str, Any]:
    """Extract `archive` into `dest` and return its manifest, after checking every file's checksum.

    Anything that is not a readable archive of ours (a foreign or damaged file) is RestoreRefused.
    """
    if not archive.is_file():
        raise RestoreRefused(f"{archive}: no such file")
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    _check_name(name)
                zf.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")  # refuses links and paths outside dest
        else:
            raise RestoreRefused(f"{archive}: not a tv-engine backup (neither a .tar.gz nor a .zip archive)")
    except RestoreRefused:
        raise
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, ValueError) as exc:
        raise RestoreRefused(f"{archive}: the archive is damaged or unreadable ({exc})") from exc
    try:
        manifest = json.loads((dest / MANIFEST_NAME).read_text())
    except (OSError, ValueError) as exc:
        raise RestoreRefused(f"{archive}: not a tv-engine backup (no readable {MANIFEST_NAME})") from exc
    expected = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(expected, dict):
        for name, digest in expected.items():
            path = dest / name
            _check_name(name)
            if not path.is_file() or sha256(path) != digest:
                raise RestoreRefused(f"{archive}: the archive is damaged: {name} is missing or altered")
    return manifest


def _check_name(name: str) -> None:
    if name.startswith("/") or ".." in Path(name).parts:
        raise RestoreRefused(f"not a tv-engine backup: unsafe path {name!r} in the archive")
