"""Decimal field shapes shared by every money column (never FloatField)."""

from decimal import Decimal

from django.db import models


def price_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=30, decimal_places=12, **kwargs)


def qty_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(max_digits=30, decimal_places=12, **kwargs)


def money_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(max_digits=30, decimal_places=12, **kwargs)


def percent_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=6, **kwargs)
