"""The order sync (twice a second) reads each account once, however many of its orders rest."""

from __future__ import annotations

import pytest
from encrypted_model_fields.fields import EncryptedCharField

from exchanges.paper import PaperExchange
from trading.engine import orders
from trading.models import Order, OrderState

from .engine_world import paper_account

pytestmark = pytest.mark.django_db


def test_an_order_sync_decrypts_an_accounts_keys_once_not_once_per_resting_order(driver, engine, monkeypatch):
    driver.send(price="43000")
    driver.send(symbol="ETHUSDT", price="2300", trade_id="eth")
    assert Order.objects.filter(state=OrderState.OPEN).count() == 8  # four resting legs each
    decrypted: list[str] = []
    from_db_value = EncryptedCharField.from_db_value

    def counting(self, value, *args, **kwargs):
        decrypted.append(self.name)
        return from_db_value(self, value, *args, **kwargs)

    monkeypatch.setattr(EncryptedCharField, "from_db_value", counting)

    orders.sync_live_orders(engine.ctx)

    assert sorted(decrypted) == ["api_key", "api_secret", "passphrase"]  # one account row


def test_the_sync_still_books_what_filled_at_the_venue(driver, engine):
    driver.send(price="43000")
    resting = Order.objects.filter(state=OrderState.OPEN).order_by("price").first()
    venue = engine.ctx.adapter(paper_account())
    assert isinstance(venue, PaperExchange)
    venue.set_price("BTC/USDT", resting.price)  # the lowest leg's limit is reached at the venue

    assert orders.sync_live_orders(engine.ctx) >= 1

    resting.refresh_from_db()
    assert resting.state == OrderState.FILLED and resting.filled_qty == resting.qty
