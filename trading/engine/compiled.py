"""The engine's hottest lookups, compiled by the ORM once per process and run with new values.

Django builds and compiles a queryset on every call. For the engine's commonest question, "the
market's live group", that is ~1 ms of CPU on a 2-vCPU machine, 2.5–5× what running the same
SQL costs (docs/benchmarks.md §10.10). A `CompiledSelect` asks its queryset for its SQL once per
database, built with placeholder values it finds again among the parameters. Then every call runs
that SQL with the real values through `Model.objects.raw()`, whose rows become model instances
through the same field converters as a queryset's.

The SQL is still Django's, right for either database. Only int and str values are swapped in: they
reach both databases exactly as the ORM would send them, so none needs a field's preparation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)
Value = int | str


class CompiledSelect(Generic[M]):
    """`build(*values)` → a queryset of one model; `.first(*values)` is `build(*values).first()`."""

    def __init__(self, build: Callable[..., QuerySet[M]], *placeholders: Value) -> None:
        for value in placeholders:
            if type(value) not in (int, str):
                raise TypeError(f"placeholders are int or str, not {type(value).__name__}")
        self._build = build
        self._placeholders = placeholders
        self._by_vendor: dict[str, tuple[type[M], str, tuple, tuple[int, ...]]] = {}

    def first(self, *values: Value) -> M | None:
        model, sql, params = self._bound(values)
        return next(iter(model._default_manager.raw(sql, params)), None)

    def _bound(self, values: tuple[Value, ...]) -> tuple[type[M], str, list]:
        if len(values) != len(self._placeholders):
            raise TypeError(f"expected {len(self._placeholders)} values, got {len(values)}")
        for value, placeholder in zip(values, self._placeholders, strict=True):
            if type(value) is not type(placeholder):
                raise TypeError(f"{value!r}: expected {type(placeholder).__name__}")
        vendor = connections[DEFAULT_DB_ALIAS].vendor
        if vendor not in self._by_vendor:
            self._by_vendor[vendor] = self._compile()
        model, sql, params, positions = self._by_vendor[vendor]
        bound = list(params)
        for position, value in zip(positions, values, strict=True):
            bound[position] = value
        return model, sql, bound

    def _compile(self) -> tuple[type[M], str, tuple, tuple[int, ...]]:
        queryset = self._build(*self._placeholders)
        # As QuerySet.first(): its own ordering, else the primary key's.
        queryset = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
        sql, params = queryset.query.sql_with_params()
        positions = []
        for placeholder in self._placeholders:
            found = [i for i, p in enumerate(params) if type(p) is type(placeholder) and p == placeholder]
            if len(found) != 1:
                raise ValueError(f"placeholder {placeholder!r} appears {len(found)} times in {sql}")
            positions.append(found[0])
        return queryset.model, sql, tuple(params), tuple(positions)
