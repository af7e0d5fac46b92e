"""Exchange API secrets: encrypted at rest, masked on display, and a wrong key refuses to start."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from exchanges.models import EncryptionCanary, ExchangeAccount, Venue
from exchanges.secrets import CANARY_TEXT, WrongEncryptionKey, check_canary, mask

pytestmark = pytest.mark.django_db


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test-only names
        return cursor.fetchone()[0]


def test_api_secret_is_stored_encrypted_and_reads_back_plain():
    account = ExchangeAccount.objects.create(
        label="bin", venue=Venue.BINANCE, api_key="AKIA-KEY-123456", api_secret="s3cr3t-value-A4B19K"
    )
    stored = raw_column("exchanges_exchangeaccount", "api_secret", account.pk)
    assert "s3cr3t" not in stored
    assert ExchangeAccount.objects.get(pk=account.pk).api_secret == "s3cr3t-value-A4B19K"


def test_mask_shows_only_the_last_characters():
    assert mask("s3cr3t-value-A4B19K") == "****A4B19K"
    assert mask("short") == "****"
    assert mask("") == ""


def test_canary_is_created_on_first_start_and_checks_afterwards():
    check_canary()
    assert EncryptionCanary.objects.get(pk=1).value == CANARY_TEXT
    check_canary()  # the same key reads it back


def test_a_wrong_encryption_key_refuses_to_start():
    # Simulate data written under another key: the library then hands back ciphertext silently.
    foreign = Fernet(Fernet.generate_key()).encrypt(CANARY_TEXT.encode()).decode()
    EncryptionCanary.objects.create(pk=1, value="placeholder")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE exchanges_encryptioncanary SET value = %s WHERE id = 1", [foreign])
    with pytest.raises(WrongEncryptionKey, match="cannot decrypt the stored secrets"):
        check_canary()
