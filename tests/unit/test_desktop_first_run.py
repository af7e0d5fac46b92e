"""The first-run decision and its one-time token (desktop.first_run)."""

from __future__ import annotations

import os
import stat
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from desktop import first_run

BASE = "http://127.0.0.1:8765"


def test_first_start_opens_the_setup_page_with_its_token() -> None:
    page = first_run.first_page(BASE, has_user=False, token="abc-_123")
    parts = urlsplit(page)
    assert page.startswith(BASE + "/setup/?")
    assert parse_qs(parts.query) == {"token": ["abc-_123"]}


def test_once_an_account_exists_the_console_opens() -> None:
    assert first_run.first_page(BASE, has_user=True, token=None) == BASE + "/"
    assert first_run.first_page(BASE, has_user=True, token="left-over") == BASE + "/"


def test_no_token_means_no_setup_page() -> None:
    assert first_run.first_page(BASE, has_user=False, token=None) == BASE + "/"


def test_issued_token_matches_and_retiring_it_ends_it(tmp_path) -> None:
    token = first_run.issue_token(tmp_path)
    assert first_run.token_matches(tmp_path, token)
    first_run.retire_token(tmp_path)
    assert not first_run.token_matches(tmp_path, token)
    first_run.retire_token(tmp_path)  # retiring twice is harmless


def test_a_new_token_replaces_the_earlier_one(tmp_path) -> None:
    old = first_run.issue_token(tmp_path)
    new = first_run.issue_token(tmp_path)
    assert new != old
    assert first_run.token_matches(tmp_path, new)
    assert not first_run.token_matches(tmp_path, old)


def test_wrong_or_empty_token_never_matches(tmp_path) -> None:
    assert not first_run.token_matches(tmp_path, "anything")  # no token issued
    token = first_run.issue_token(tmp_path)
    assert not first_run.token_matches(tmp_path, "")
    assert not first_run.token_matches(tmp_path, token + "x")
    assert not first_run.token_matches(tmp_path, token[:-1])


def test_token_file_holds_only_a_hash(tmp_path) -> None:
    token = first_run.issue_token(tmp_path)
    stored = (tmp_path / first_run.TOKEN_FILE).read_text()
    assert token not in stored
    assert len(stored) == 64  # sha256 hex


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_token_file_is_private_to_the_user(tmp_path) -> None:
    first_run.issue_token(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / first_run.TOKEN_FILE).st_mode)
    assert mode == 0o600
