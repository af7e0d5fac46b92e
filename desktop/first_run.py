"""First start without a terminal: a one-time link to a page that creates the admin account.

The launcher issues a random token while no user exists and opens `/setup/?token=…` in the browser;
the page creates the first admin with the password the trader chooses, signs them in and retires
the token. Only a hash of the token is stored (0600, in the data dir), nothing that would sign
anyone in; without the token file (any server install) the page does not exist.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

TOKEN_FILE = "first_run_token"
SETUP_PATH = "/setup/"


def first_page(base_url: str, *, has_user: bool, token: str | None) -> str:
    """Where the browser opens: the set-up page with its token before any account exists, else the console."""
    if has_user or not token:
        return base_url + "/"
    return f"{base_url}{SETUP_PATH}?{urlencode({'token': token})}"


def issue_token(data_dir: Path) -> str:
    """A new one-time set-up token; replaces any earlier one (each start while no account exists)."""
    token = secrets.token_urlsafe(24)
    path = data_dir / TOKEN_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_digest(token))
    return token


def token_matches(data_dir: Path, token: str) -> bool:
    """True for the token the launcher issued and has not retired."""
    try:
        stored = (data_dir / TOKEN_FILE).read_text().strip()
    except OSError:
        return False
    return bool(token) and secrets.compare_digest(stored, _digest(token))


def retire_token(data_dir: Path) -> None:
    (data_dir / TOKEN_FILE).unlink(missing_ok=True)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
