"""Typed settings helpers: everything configurable comes from the environment, checked at start."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def data_dir() -> Path:
    """`ENGINE_DATA_DIR`, else ./engine_data: the SQLite database, config.json, logs, keys."""
    path = Path(os.environ.get("ENGINE_DATA_DIR") or "engine_data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(directory: Path) -> str:
    """`DJANGO_SECRET_KEY`, else a key generated once and stored (0600) in the data dir."""
    from_env = os.environ.get("DJANGO_SECRET_KEY")
    if from_env:
        return from_env
    key_file = directory / "django_secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def field_encryption_key(directory: Path) -> tuple[str, str]:
    """The key for encrypted model fields and where it came from.

    Order: `FIELD_ENCRYPTION_KEY` env → a usable OS keyring → a 0600 file in the data dir.
    """
    from_env = os.environ.get("FIELD_ENCRYPTION_KEY")
    if from_env:
        return from_env, "environment"
    key = _key_from_keyring()
    if key:
        return key, "keyring"
    key_file = directory / "field_encryption_key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return key_file.read_text().strip(), "file"


def _key_from_keyring() -> str | None:
    # Headless servers have no keyring backend; never let keyring prompt or fail start-up.
    if not envbool("ENGINE_USE_KEYRING", False):
        return None
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring

        backend = keyring.get_keyring()
        if isinstance(backend, FailKeyring) or "plaintext" in type(backend).__name__.lower():
            return None
        key = keyring.get_password("tv-engine", "field-encryption-key")
        if not key:
            from cryptography.fernet import Fernet

            key = Fernet.generate_key().decode()
            keyring.set_password("tv-engine", "field-encryption-key", key)
        return key
    except Exception:  # noqa: BLE001 - any keyring failure falls back to the key file
        return None
