"""Pure trading rules: no Django, no ccxt, no clock reads. Decimal in, dataclasses out."""
