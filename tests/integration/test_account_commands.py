"""`add_account`, `check_account` and `refresh_markets`: what an operator types, and what it may
never print (an unmasked secret)."""

from __future__ import annotations

import io
from decimal import Decimal as D
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from exchanges.models import ExchangeAccount, MarketRule, MarketType, Venue
from exchanges.registry import ensure_paper_account
from tests.factories import reset_config
from trading import config_service
from trading.engine.lock import EngineLock
from trading.models import Command, CommandStatus

pytestmark = pytest.mark.django_db

KEY = "BINANCEKEY-0123456789-A4B19K"
SECRET = "binance-secret-do-not-print-7Q2W"
PASSPHRASE = "okx-passphrase-do-not-print"
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(autouse=True)
def fresh_config():
    reset_config()  # `--default` rewrites config.json, which outlives the rolled-back database
    yield
    reset_config()


@pytest.fixture(autouse=True)
def non_interactive(monkeypatch):
    """No terminal, whatever pytest's capture mode: a missing value must fail, not wait for input."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def run(name: str, *args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=out, **options)
    return out.getvalue()


def add(**options: Any) -> str:
    defaults = {"label": "binance-main", "exchange": "binance", "api_key": KEY, "secret": SECRET}
    return run("add_account", **{**defaults, **options})


def raw_column(column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM exchanges_exchangeaccount WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


# ---- add_account ----------------------------------------------------------------------------


def test_add_account_stores_secrets_encrypted_and_prints_only_the_masked_key():
    out = add()

    account = ExchangeAccount.objects.get(label="binance-main")
    assert (account.venue, account.market_type, account.sandbox) == (Venue.BINANCE, MarketType.SPOT, False)
    assert (account.api_key, account.api_secret) == (KEY, SECRET)
    for column, plain in (("api_key", KEY), ("api_secret", SECRET)):
        stored = raw_column(column, account.pk)
        assert stored and plain not in stored and "A4B19K" not in stored
    assert "****A4B19K" in out
    assert KEY not in out and SECRET not in out and "do-not-print" not in out
    assert "check_account binance-main" in out


def test_add_account_with_a_passphrase_encrypts_it_too():
    out = add(label="okx-main", exchange="okx", passphrase=PASSPHRASE)

    account = ExchangeAccount.objects.get(label="okx-main")
    assert account.passphrase == PASSPHRASE
    assert PASSPHRASE not in raw_column("passphrase", account.pk)
    assert PASSPHRASE not in out


def test_okx_without_a_passphrase_is_refused():
    with pytest.raises(CommandError, match="API passphrase is required"):
        add(label="okx-main", exchange="okx")
    assert not ExchangeAccount.objects.filter(label="okx-main").exists()


def test_sandbox_on_okx_is_refused_naming_the_exchanges_that_have_one():
    with pytest.raises(CommandError, match="only Binance and Bybit"):
        add(label="okx-test", exchange="okx", passphrase=PASSPHRASE, sandbox=True)
    assert not ExchangeAccount.objects.exists()


def test_sandbox_on_binance_spot_is_accepted():
    out = add(label="binance-test", sandbox=True)
    assert ExchangeAccount.objects.get(label="binance-test").sandbox is True
    assert "(testnet)" in out


def test_a_duplicate_label_is_refused():
    add()
    with pytest.raises(CommandError, match="already exists"):
        add(api_key="ANOTHER-KEY-999999")
    assert ExchangeAccount.objects.get(label="binance-main").api_key == KEY


def test_default_routes_webhooks_without_a_known_exchange_to_the_new_account():
    assert config_service.current().exchange.default_account == "paper"
    add(default=True)
    assert config_service.current().exchange.default_account == "binance-main"


def test_without_default_the_routing_default_stays():
    add()
    assert config_service.current().exchange.default_account == "paper"


def test_mexc_swap_is_refused():
    with pytest.raises(CommandError, match="mexc supports spot here, not swap"):
        add(label="mexc-perp", exchange="mexc", market_type="swap")
    assert not ExchangeAccount.objects.exists()


def test_a_missing_secret_without_a_terminal_is_an_error_not_a_prompt():
    with pytest.raises(CommandError, match="API secret is required"):
        run("add_account", label="binance-main", exchange="binance", api_key=KEY)
    assert not ExchangeAccount.objects.exists()


def test_a_label_that_is_not_a_slug_is_refused():
    with pytest.raises(CommandError, match="label"):
        add(label="my binance!")
    with pytest.raises(CommandError, match="label"):
        add(label="x" * 41)
    assert not ExchangeAccount.objects.exists()


# ---- check_account --------------------------------------------------------------------------


def test_check_account_prints_the_market_rules_and_the_balances():
    ensure_paper_account()
    out = run("check_account", "paper")

    assert "BTC/USDT: tick 0.01  step 0.00001  min qty 0.00001  min notional 5" in out
    assert "keys OK; balances: USDT 10000" in out


def test_check_account_names_a_market_it_does_not_have():
    ensure_paper_account()
    out = run("check_account", "paper", symbol="NOPE/USDT")
    assert "NOPE/USDT: not an active market here" in out


def test_check_account_on_an_unknown_label_is_an_error():
    with pytest.raises(CommandError, match="no account 'nope'"):
        run("check_account", "nope")


# ---- refresh_markets ------------------------------------------------------------------------


def test_refresh_markets_without_an_engine_refreshes_directly():
    paper = ensure_paper_account()
    assert paper.markets_synced_at is None

    out = run("refresh_markets")

    assert out.strip() == "market rules refreshed for 1 account(s)"
    paper.refresh_from_db()
    assert paper.markets_synced_at is not None
    btc = MarketRule.objects.get(account=paper, symbol="BTC/USDT")
    assert (btc.tick_size, btc.step_size, btc.min_notional) == (D("0.01"), D("0.00001"), D("5"))
    assert not Command.objects.exists()  # nothing was left for an engine


@pytest.mark.skipif(not ON_POSTGRES, reason="the in-memory SQLite test database has no engine lock")
def test_refresh_markets_with_an_engine_running_asks_the_engine():
    ensure_paper_account()
    with EngineLock():  # an engine holds the advisory lock
        with pytest.raises(CommandError, match="has not applied command"):
            run("refresh_markets", timeout=0.1)
    command = Command.objects.get(kind="refresh_markets")
    assert command.status == CommandStatus.PENDING
    assert ExchangeAccount.objects.get(label="paper").markets_synced_at is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="the in-memory SQLite test database has no engine lock")
def test_refresh_markets_keeps_waiting_while_the_engine_is_still_running_the_command():
    import threading

    ensure_paper_account()
    claimed = threading.Event()

    def engine_claims_it() -> None:  # what the engine does first with a refresh: claim, then work
        for _ in range(200):
            if Command.objects.filter(kind="refresh_markets").update(status=CommandStatus.RUNNING):
                claimed.set()
                return
            threading.Event().wait(0.02)

    with EngineLock():
        worker = threading.Thread(target=engine_claims_it)
        worker.start()
        with pytest.raises(CommandError, match="has not applied command"):
            run("refresh_markets", timeout=3)
        worker.join()
    assert claimed.is_set()
