"""`/setup/`, the desktop app's first-run page: only with the launcher's token, only before any account
exists, and bad input creates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from desktop import first_run

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def token() -> Iterator[str]:
    data = Path(settings.DATA_DIR)
    yield first_run.issue_token(data)
    first_run.retire_token(data)


def _post(client: Client, token: str, password: str = GOOD_PASSWORD, again: str | None = None):
    return client.post(
        "/setup/",
        {"token": token, "username": "trader", "password1": password, "password2": again or password},
    )


def test_setup_page_needs_the_launchers_token(client, token) -> None:
    assert client.get("/setup/").status_code == 403
    assert client.get("/setup/?token=wrong").status_code == 403
    assert _post(client, "wrong").status_code == 403
    assert not get_user_model().objects.exists()


def test_setup_page_without_any_token_file_is_refused(client) -> None:
    # A server install never ran the launcher: no token file, no way to claim the first account.
    assert client.get("/setup/?token=").status_code == 403
    assert _post(client, "guess").status_code == 403
    assert not get_user_model().objects.exists()


def test_setup_creates_the_first_admin_signs_in_and_retires_the_token(client, token) -> None:
    assert client.get(f"/setup/?token={token}").status_code == 200
    response = _post(client, token)
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get()
    assert user.username == "trader" and user.is_superuser and user.is_staff
    assert user.check_password(GOOD_PASSWORD)
    assert client.get("/").status_code == 200  # signed in: the console opens
    assert not first_run.token_matches(Path(settings.DATA_DIR), token)


def test_setup_refuses_a_weak_or_mismatched_password_and_changes_nothing(client, token) -> None:
    weak = _post(client, token, password="123")
    assert weak.status_code == 200 and b"form-error" in weak.content
    mismatched = _post(client, token, again=GOOD_PASSWORD + "x")
    assert mismatched.status_code == 200 and b"form-error" in mismatched.content
    assert not get_user_model().objects.exists()
    assert first_run.token_matches(Path(settings.DATA_DIR), token)  # still usable for a second try


def test_setup_page_is_gone_once_an_account_exists(client, token) -> None:
    get_user_model().objects.create_user("someone", password=GOOD_PASSWORD)
    page = client.get(f"/setup/?token={token}")
    assert page.status_code == 302 and page["Location"] == settings.LOGIN_URL
    assert _post(client, token).status_code == 302
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["someone"]


def test_setup_post_needs_the_csrf_token(token) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert _post(strict, token).status_code == 403
    assert not get_user_model().objects.exists()


def test_api_only_users_leave_the_setup_page_open(client, token) -> None:
    # `create_api_token --create-user` makes a user without a password: nobody can sign in with it yet.
    get_user_model().objects.create_user("api-only")
    get_user_model().objects.create_user("retired", password=GOOD_PASSWORD, is_active=False)
    assert client.get(f"/setup/?token={token}").status_code == 200
    assert _post(client, token).status_code == 302
    assert get_user_model().objects.get(username="trader").is_superuser
