"""/settings/accounts/: admins add, edit, switch off, test and delete accounts; operators only read;
a secret typed in is stored encrypted and never comes back to a browser, a JSON answer or an event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from exchanges.accounts import run_check
from exchanges.models import ExchangeAccount
from exchanges.registry import ensure_paper_account
from tests.factories import PositionGroupFactory, QueueEntryFactory, reset_config
from tests.integration.ccxt_world import make_world, no_sockets  # noqa: F401 - the offline guard
from trading import config_service
from trading.models import Event, GroupStatus, Signal, SignalStatus

from .test_console_fixtures import *  # noqa: F403 - the shared console fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config_file_left_as_found():
    """config.json outlives the rolled-back database: leave no edit behind for the next module."""
    yield
    reset_config()


KEY = "BINANCEKEY-0123456789-A4B19K"
SECRET = "binance-secret-do-not-show-7Q2W"
PASSPHRASE = "okx-passphrase-do-not-show"
NEW_SECRET = "rotated-secret-do-not-show-9X8Y"
HIDDEN = (KEY, SECRET, PASSPHRASE, NEW_SECRET, "do-not-show")


def add(client: Client, **fields: Any):
    data = {
        "label": "binance-main",
        "venue": "binance",
        "market_type": "spot",
        "api_key": KEY,
        "api_secret": SECRET,
        "rate_limit_mode": "exchange",
        **fields,
    }
    return client.post("/settings/accounts/add/", data)


def assert_hidden(text: str) -> None:
    for secret in HIDDEN:
        assert secret not in text


def everything_shown(client: Client, label: str) -> str:
    """Every page and JSON answer that shows accounts, as one text."""
    urls = ["/settings/accounts/", f"/settings/accounts/{label}/", "/status/", "/api/v1/exchanges"]
    bodies = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
    events = json.dumps(list(Event.objects.values("message", "context")), default=str)
    return "\n".join([*bodies, events])


def raw_column(column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM exchanges_exchangeaccount WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


# ---- add ------------------------------------------------------------------------------------


def test_an_added_accounts_secrets_are_stored_encrypted_and_never_shown(admin_client: Client) -> None:
    response = add(admin_client)
    assert response.status_code == 302
    assert_hidden(response.content.decode())

    account = ExchangeAccount.objects.get(label="binance-main")
    assert (account.api_key, account.api_secret) == (KEY, SECRET)
    assert SECRET not in raw_column("api_secret", account.pk) and KEY not in raw_column("api_key", account.pk)
    shown = everything_shown(admin_client, "binance-main")
    assert_hidden(shown)
    assert "****A4B19K" in shown  # the key, masked, so the admin can tell keys apart


def test_a_refused_add_changes_nothing_and_never_echoes_the_typed_secret(admin_client: Client) -> None:
    response = add(admin_client, label="okx-main", venue="okx", passphrase=PASSPHRASE, sandbox="on")

    assert response.status_code == 400
    assert "only Binance and Bybit" in response.content.decode()
    assert_hidden(response.content.decode())  # password fields are not filled back in
    assert not ExchangeAccount.objects.filter(label="okx-main").exists()


def test_a_live_venue_without_its_passphrase_is_refused(admin_client: Client) -> None:
    response = add(admin_client, label="okx-main", venue="okx")
    assert response.status_code == 400
    assert "API passphrase is required for okx" in response.content.decode()
    assert not ExchangeAccount.objects.filter(label="okx-main").exists()


def test_a_duplicate_label_is_refused_and_the_first_account_keeps_its_keys(admin_client: Client) -> None:
    add(admin_client)
    response = add(admin_client, api_key="ANOTHER-KEY-999999", api_secret=NEW_SECRET)
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert ExchangeAccount.objects.get(label="binance-main").api_secret == SECRET


def test_a_label_the_console_uses_as_a_path_is_refused(admin_client: Client) -> None:
    response = add(admin_client, label="add")
    assert response.status_code == 400 and "reserved" in response.content.decode()
    assert not ExchangeAccount.objects.filter(label="add").exists()


def test_adding_an_account_is_an_audit_event_naming_who_with_the_key_masked(admin_client: Client) -> None:
    add(admin_client)
    event = Event.objects.get(message__startswith="exchange account binance-main added")
    assert "****A4B19K" in event.message and "admin" in event.message
    assert_hidden(json.dumps([event.message, event.context]))


# ---- edit -----------------------------------------------------------------------------------


def test_an_edit_with_blank_secret_fields_keeps_the_stored_secrets(admin_client: Client) -> None:
    add(admin_client, label="okx-main", venue="okx", passphrase=PASSPHRASE)
    response = admin_client.post(
        "/settings/accounts/okx-main/edit/",
        {"api_key": "", "api_secret": "", "passphrase": "", "rate_limit_mode": "conservative"},
    )
    assert response.status_code == 302
    account = ExchangeAccount.objects.get(label="okx-main")
    assert (account.api_key, account.api_secret, account.passphrase) == (KEY, SECRET, PASSPHRASE)
    assert account.rate_limit_mode == "conservative"


def test_an_edit_replaces_only_the_secret_typed_and_records_it_without_its_value(
    admin_client: Client,
) -> None:
    add(admin_client)
    admin_client.post(
        "/settings/accounts/binance-main/edit/",
        {"api_key": "", "api_secret": NEW_SECRET, "passphrase": "", "rate_limit_mode": "exchange"},
    )
    account = ExchangeAccount.objects.get(label="binance-main")
    assert (account.api_key, account.api_secret) == (KEY, NEW_SECRET)
    event = Event.objects.get(message__startswith="exchange account binance-main changed")
    assert "api_secret" in event.message
    assert_hidden(everything_shown(admin_client, "binance-main"))


# ---- enable / disable -----------------------------------------------------------------------


def test_a_disabled_account_gets_no_new_entries(driver, admin_client: Client) -> None:
    response = admin_client.post("/settings/accounts/paper/disable/")
    assert response.status_code == 302
    assert ExchangeAccount.objects.get(label="paper").enabled is False

    driver.send()

    signal = Signal.objects.get()
    assert signal.status == SignalStatus.REJECTED and "no enabled account" in signal.reason
    assert Event.objects.filter(message__startswith="exchange account paper disabled").exists()


def test_disabling_an_account_with_live_groups_says_they_stay_managed(admin_client: Client) -> None:
    PositionGroupFactory(account__label="busy", status=GroupStatus.LIVE)
    page = admin_client.post("/settings/accounts/busy/disable/", follow=True).content.decode()
    assert "1 live group(s) stay managed" in page and "only new entries are refused" in page
    assert ExchangeAccount.objects.get(label="busy").enabled is False


def test_enabling_it_again_lets_entries_open(driver, admin_client: Client) -> None:
    admin_client.post("/settings/accounts/paper/disable/")
    admin_client.post("/settings/accounts/paper/enable/")
    driver.send()
    assert Signal.objects.get().status == SignalStatus.APPLIED


# ---- delete ---------------------------------------------------------------------------------


def test_deleting_an_account_with_a_live_group_is_refused_and_changes_nothing(admin_client: Client) -> None:
    group = PositionGroupFactory(account__label="busy", status=GroupStatus.LIVE)
    events_before = Event.objects.count()

    response = admin_client.post("/settings/accounts/busy/delete/", {"confirm": "busy"}, follow=True)

    assert "1 live group(s)" in response.content.decode()
    assert ExchangeAccount.objects.filter(pk=group.account_id).exists()
    assert Event.objects.count() == events_before


def test_deleting_an_account_with_a_queued_entry_is_refused(admin_client: Client) -> None:
    entry = QueueEntryFactory()
    response = admin_client.post(
        f"/settings/accounts/{entry.account.label}/delete/", {"confirm": entry.account.label}, follow=True
    )
    assert "waiting in the queue" in response.content.decode()
    assert ExchangeAccount.objects.filter(pk=entry.account_id).exists()


def test_deleting_an_account_with_only_closed_history_is_refused(admin_client: Client) -> None:
    group = PositionGroupFactory(account__label="old", status=GroupStatus.CLOSED)
    response = admin_client.post("/settings/accounts/old/delete/", {"confirm": "old"}, follow=True)
    assert "has trading history: disable it instead" in response.content.decode()
    assert ExchangeAccount.objects.filter(pk=group.account_id).exists()


def test_the_default_account_cannot_be_deleted(admin_client: Client) -> None:
    ensure_paper_account()
    response = admin_client.post("/settings/accounts/paper/delete/", {"confirm": "paper"}, follow=True)
    assert "exchange.default_account" in response.content.decode()
    assert ExchangeAccount.objects.filter(label="paper").exists()


def test_a_delete_needs_the_label_typed_to_confirm(admin_client: Client) -> None:
    add(admin_client)
    admin_client.post("/settings/accounts/binance-main/delete/", {"confirm": "yes"})
    assert ExchangeAccount.objects.filter(label="binance-main").exists()


def test_an_unused_account_is_deleted_with_an_audit_event(admin_client: Client) -> None:
    add(admin_client)
    response = admin_client.post("/settings/accounts/binance-main/delete/", {"confirm": "binance-main"})
    assert response.status_code == 302
    assert not ExchangeAccount.objects.filter(label="binance-main").exists()
    assert Event.objects.filter(message__startswith="exchange account binance-main deleted").exists()


# ---- test (check_account) -------------------------------------------------------------------


def test_the_test_button_runs_the_check_on_the_paper_venue(admin_client: Client) -> None:
    ensure_paper_account()
    response = admin_client.post("/settings/accounts/paper/test/", {"symbol": "BTC/USDT"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "BTC/USDT: tick 0.01  step 0.00001  min qty 0.00001  min notional 5" in page
    assert "keys OK; balances: USDT 10000" in page
    assert "paper account: nothing can be withdrawn" in page


# The venues' documented answers (no recording of these endpoints exists): Binance's
# GET /sapi/v1/account/apiRestrictions and OKX's GET /api/v5/account/config, trimmed.
PERMISSIONS = {
    "binance": (
        "/sapi/v1/account/apiRestrictions",
        lambda withdraw: {"ipRestrict": False, "enableReading": True, "enableSpotAndMarginTrading": True,
                          "enableWithdrawals": withdraw},
        ("/api/v3/account", "Spot balance"),
    ),
    "okx": (
        "/api/v5/account/config",
        lambda withdraw: {"code": "0", "msg": "", "data": [{"acctLv": "1", "uid": "44705892343619584",
                          "perm": "read_only,trade,withdraw" if withdraw else "read_only,trade"}]},
        ("/api/v5/account/balance", "spot balance"),
    ),
}  # fmt: skip


def _check_with_permission(venue: str, withdraw: bool):
    from tests.ccxt_transport import recorded_body

    path, answer, (balance_path, balance) = PERMISSIONS[venue]
    world = make_world(venue)
    world.transport.on("GET", balance_path, recorded_body(venue, "fetchBalance", balance))
    world.transport.on("GET", path, answer(withdraw))
    account = ExchangeAccount.objects.create(
        label=f"{venue}-main", venue=venue, api_key=KEY, api_secret=SECRET, passphrase=PASSPHRASE
    )
    return run_check(account, build=lambda *_: world.adapter)


@pytest.mark.parametrize("venue", sorted(PERMISSIONS))
def test_a_key_with_withdrawal_permission_is_warned_about(venue: str) -> None:
    report = _check_with_permission(venue, withdraw=True)
    assert report.ok and report.withdrawal.startswith("WARNING: this key may withdraw funds")


@pytest.mark.parametrize("venue", sorted(PERMISSIONS))
def test_a_key_without_withdrawal_permission_says_so(venue: str) -> None:
    assert _check_with_permission(venue, withdraw=False).withdrawal == "withdrawal permission: off (good)"


def test_a_permission_call_that_fails_still_reports_the_keys_as_working() -> None:
    from tests.ccxt_transport import recorded_body

    world = make_world("binance")
    world.transport.on("GET", "/api/v3/account", recorded_body("binance", "fetchBalance", "Spot balance"))
    world.transport.on(
        "GET", "/sapi/v1/account/apiRestrictions", {"code": -2015, "msg": "Invalid API-key"}, status=401
    )
    account = ExchangeAccount.objects.create(
        label="binance-main", venue="binance", api_key=KEY, api_secret=SECRET
    )
    report = run_check(account, build=lambda *_: world.adapter)
    assert report.ok and report.withdrawal.startswith("withdrawal permission: could not be read")


def test_a_venue_that_does_not_report_permissions_says_not_reported() -> None:
    from tests.ccxt_transport import recorded_body

    world = make_world("kucoin")
    world.transport.on("GET", "/api/v1/accounts", recorded_body("kucoin", "fetchBalance", "fetch balance"))
    account = ExchangeAccount.objects.create(
        label="kucoin-main", venue="kucoin", api_key=KEY, api_secret=SECRET, passphrase=PASSPHRASE
    )
    report = run_check(account, build=lambda *_: world.adapter)
    assert report.ok and report.withdrawal == "withdrawal permission: not reported by kucoin"


# ---- who may do what ------------------------------------------------------------------------


def write_urls(label: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/settings/accounts/add/", {"label": "x-new", "venue": "paper", "market_type": "spot"}),
        (f"/settings/accounts/{label}/edit/", {"api_secret": NEW_SECRET, "rate_limit_mode": "conservative"}),
        (f"/settings/accounts/{label}/disable/", {}),
        (f"/settings/accounts/{label}/enable/", {}),
        (f"/settings/accounts/{label}/test/", {}),
        (f"/settings/accounts/{label}/delete/", {"confirm": label}),
    ]


def test_the_operator_gets_403_on_every_account_write_and_nothing_changes(
    admin_client: Client, operator_client: Client
) -> None:
    add(admin_client)
    ExchangeAccount.objects.filter(label="binance-main").update(enabled=False)
    events_before = Event.objects.count()
    for url, data in write_urls("binance-main"):
        assert operator_client.post(url, data).status_code == 403, url
    account = ExchangeAccount.objects.get(label="binance-main")
    assert (account.enabled, account.api_secret, account.rate_limit_mode) == (False, SECRET, "exchange")
    assert ExchangeAccount.objects.count() == 1
    assert Event.objects.count() == events_before


def test_the_operator_reads_the_accounts_masked_and_sees_no_forms(
    admin_client: Client, operator_client: Client
) -> None:
    add(admin_client)
    listing = operator_client.get("/settings/accounts/").content.decode()
    detail = operator_client.get("/settings/accounts/binance-main/").content.decode()
    assert "****A4B19K" in listing and "****A4B19K" in detail
    assert 'data-testid="account-form"' not in listing + detail
    assert_hidden(listing + detail)


def test_the_pages_send_an_anonymous_visitor_to_login(client: Client) -> None:
    ensure_paper_account()
    for url in ("/settings/accounts/", "/settings/accounts/paper/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_the_config_keeps_its_default_account_when_one_is_added_without_make_default(
    admin_client: Client,
) -> None:
    add(admin_client)
    assert config_service.current().exchange.default_account == "paper"
    add(admin_client, label="binance-two", make_default="on")
    assert config_service.current().exchange.default_account == "binance-two"
