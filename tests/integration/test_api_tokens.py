"""API tokens: hashed at rest, verified with a throttled last-use stamp, issued by a command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.factories import T0, UserFactory
from trading.api import tokens
from trading.models import ApiToken

pytestmark = pytest.mark.django_db


def test_issue_token_stores_only_the_hash_and_prefix() -> None:
    user = UserFactory()
    plain = tokens.issue_token(user, readonly=True, now=T0)
    row = ApiToken.objects.get()
    assert row.token_hash == tokens.hash_token(plain) != plain
    assert row.prefix == plain[:8]
    assert (row.user, row.readonly, row.created_at) == (user, True, T0)
    assert len(plain) >= 40


def test_verify_stamps_last_use_at_most_once_a_minute() -> None:
    plain = tokens.issue_token(UserFactory(), readonly=False)
    assert tokens.verify(plain, now=T0) is not None
    tokens.verify(plain, now=T0 + timedelta(seconds=59))
    assert ApiToken.objects.get().last_used_at == T0
    tokens.verify(plain, now=T0 + timedelta(seconds=61))
    assert ApiToken.objects.get().last_used_at == T0 + timedelta(seconds=61)


@pytest.mark.parametrize("candidate", ["", "x", "A" * 500])
def test_verify_refuses_unknown_tokens(candidate: str) -> None:
    tokens.issue_token(UserFactory(), readonly=False)
    assert tokens.verify(candidate) is None


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_token_prints_only_the_token() -> None:
    UserFactory(username="alice")
    out, err = _run("alice", "--readonly")
    plain = out.strip()
    assert "\n" not in plain and " " not in plain
    found = tokens.verify(plain)
    assert found is not None and found.readonly and found.user.username == "alice"
    assert "read-only" in err


def test_create_api_token_for_a_missing_user_is_an_error() -> None:
    with pytest.raises(CommandError, match="does not exist"):
        _run("ghost")
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.filter(username="ghost").exists()


def test_create_api_token_can_create_the_user_without_a_password() -> None:
    out, _ = _run("bot", "--create-user")
    user = get_user_model().objects.get(username="bot")
    assert not user.has_usable_password()
    found = tokens.verify(out.strip())
    assert found is not None and found.user == user and not found.readonly
