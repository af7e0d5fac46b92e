"""The exchange contract and pure exchange-side logic. No Django, no ccxt imports here."""
