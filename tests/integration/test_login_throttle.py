"""Sign-in and API-token throttling: one limiter for the console and the admin, per (address, username)
with a slowed (never locked) address, trusted browsers exempt, counts shared through the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings

from dashboard.models import AuthFailure
from dashboard.ratelimit import DEVICE_COOKIE
from tests.factories import ApiTokenFactory, reset_config

pytestmark = pytest.mark.django_db

PASSWORD = "right-pass-for-tests-81"
ADDRESS = "198.51.100.7"  # behind a reverse proxy: every client here shares it
CONSOLE, ADMIN = "/accounts/login/", "/admin/login/"


@pytest.fixture(autouse=True)
def _users() -> None:
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    get_user_model().objects.create_user("viewer", password=PASSWORD)


def sign_in(client: Client, username: str, password: str, path: str = CONSOLE, address: str = ADDRESS):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(("fail_at", "then_at"), [(ADMIN, ADMIN), (CONSOLE, ADMIN), (ADMIN, CONSOLE)])
def test_the_admin_login_is_throttled_by_the_same_limiter_as_the_console_login(fail_at, then_at) -> None:
    answers = [sign_in(Client(), "root", "wrong", fail_at).status_code for _ in range(40)]
    assert answers[:5] == [200] * 5 and set(answers[5:]) == {429}
    client = Client()
    refused = sign_in(client, "root", PASSWORD, then_at)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert not signed_in(client)


def test_failures_for_made_up_usernames_and_from_other_addresses_never_lock_out_a_real_operator() -> None:
    for n in range(25):
        assert sign_in(Client(), f"nobody-{n}", "guess").status_code == 200
    for address in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            sign_in(Client(), "root", "guess", address=address)
    client = Client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    assert signed_in(client)


@override_settings(LOGIN_RATE_LIMIT_IP_ATTEMPTS=10, LOGIN_RATE_LIMIT_MAX_DELAY_SEC=4)
def test_past_the_address_cap_the_address_is_slowed_with_a_growing_delay_never_locked() -> None:
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        for n in range(10):
            assert sign_in(Client(), f"nobody-{n}", "guess").status_code == 200
        delays = []
        for n in range(4):
            slowed = sign_in(Client(), f"spray-{n}", "guess")
            assert slowed.status_code == 429
            delays.append(int(slowed["Retry-After"]))
            traveller.shift(delays[-1])
            assert sign_in(Client(), f"spray-{n}", "guess").status_code == 200  # checked, and wrong
        assert delays == [1, 2, 4, 4]  # doubling, capped at LOGIN_RATE_LIMIT_MAX_DELAY_SEC
        # The operator, with no failures of his own, waits out the delay, never a lockout.
        client = Client()
        traveller.shift(int(sign_in(client, "root", PASSWORD)["Retry-After"]))
        assert sign_in(client, "root", PASSWORD).status_code == 302


@override_settings(LOGIN_RATE_LIMIT_IP_ATTEMPTS=10)
def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_elses_failures() -> None:
    operator = Client()
    assert sign_in(operator, "root", PASSWORD).status_code == 302
    assert operator.cookies[DEVICE_COOKIE]["httponly"]
    operator.post("/accounts/logout/", REMOTE_ADDR=ADDRESS)
    # Someone at the same address, trusted for their own account only, goes after root's.
    attacker = Client()
    assert sign_in(attacker, "viewer", PASSWORD).status_code == 302
    attacker.post("/accounts/logout/", REMOTE_ADDR=ADDRESS)
    for n in range(20):
        sign_in(attacker, "root" if n < 5 else f"nobody-{n}", "guess")
    assert sign_in(attacker, "root", PASSWORD).status_code == 429  # the viewer's cookie is no key to root
    assert sign_in(operator, "root", PASSWORD).status_code == 302
    assert signed_in(operator)


def test_failure_counts_are_shared_through_the_database_not_a_per_process_cache() -> None:
    for _ in range(5):
        sign_in(Client(), "Root ", "wrong")
    cache.clear()  # another process has a cache of its own; the counts must not live there
    assert sign_in(Client(), "root", PASSWORD).status_code == 429
    rows = list(AuthFailure.objects.values_list("address", "username"))
    assert len(rows) == 5 and {address for address, _ in rows} == {ADDRESS}
    assert not any("root" in username.lower() for _, username in rows)  # a keyed hash, never the text


@override_settings(LOGIN_RATE_LIMIT_IP_ATTEMPTS=5)
def test_bad_bearer_tokens_slow_their_address_and_are_then_refused_before_lookup() -> None:
    reset_config()
    token = ApiTokenFactory(readonly=True).plain

    def get(bearer: str, address: str = ADDRESS):
        return Client(HTTP_AUTHORIZATION=f"Bearer {bearer}").get("/api/v1/pool", REMOTE_ADDR=address)

    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        assert [get(f"guess-{n}").status_code for n in range(5)] == [401] * 5
        slowed = get(token)  # even the right token: it is not looked up while the address is slowed
        assert slowed.status_code == 429 and "retry in 1 s" in slowed.json()["detail"]
        assert get(token, address="203.0.113.1").status_code == 200  # other addresses are not slowed
        traveller.shift(1)
        assert get(token).status_code == 200
