"""The engine's hottest statements, compiled by the ORM once per process and run with new values.

Django builds and compiles a queryset on every call. For the engine's commonest question, "the
market's live group", that is ~1 ms of CPU on a 2-vCPU machine, 2.5–5× what running the same
SQL costs (docs/benchmarks.md §10.10). A `CompiledSelect` asks its queryset for its SQL once per
database, built with placeholder values it finds again among the parameters. Then every call runs
that SQL with the real values on Django's cursor, and its rows become model instances as a
queryset's do: through the compiler's own field converters, then `Model.from_db` (what
`Model.objects.raw()` does too, but it works out its columns again on every call).

The SQL is still Django's, right for either database. A lookup swaps in int and str values only:
they reach both databases exactly as the ORM would send them, so none needs a field's preparation.
A `CompiledUpdate` (and `CompiledInsert`) prepares each new value with its field's own
`get_db_prep_save`, as the ORM's UPDATE (INSERT) does, and checks once, on the call that compiles
it, that its parameters are the ORM's. A `CompiledSum` escapes a value that sits inside a LIKE
pattern as the ORM does, and checks its first answer against `aggregate()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Expression, Field, Model, Q, QuerySet
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery

M = TypeVar("M", bound=Model)
Value = int | str


# Where a placeholder's value goes: its parameter's position, and for a value inside a LIKE pattern
# the pattern as compiled (the placeholder's text in it is replaced by the escaped value).
_Slot = tuple[int, str | None]


def _check_values(values: tuple[Value, ...], placeholders: tuple[Value, ...]) -> None:
    """One value per placeholder, each of its placeholder's kind: refused before anything is sent."""
    if len(values) != len(placeholders):
        raise TypeError(f"expected {len(placeholders)} values, got {len(values)}")
    for value, placeholder in zip(values, placeholders, strict=True):
        if type(value) is not type(placeholder):
            raise TypeError(f"{value!r}: expected {type(placeholder).__name__}")


def _slots(sql: str, params, placeholders: tuple[Value, ...], *, in_patterns: bool) -> tuple[_Slot, ...]:
    """Each placeholder's one parameter: equal to it, or (`in_patterns`) a LIKE pattern holding it."""
    slots = []
    for placeholder in placeholders:
        found: list[_Slot] = [
            (i, None) for i, p in enumerate(params) if type(p) is type(placeholder) and p == placeholder
        ]
        if in_patterns and type(placeholder) is str:
            found += [
                (i, p)
                for i, p in enumerate(params)
                if type(p) is str and p != placeholder and placeholder in p
            ]
        if len(found) != 1:
            raise ValueError(f"placeholder {placeholder!r} appears {len(found)} times in {sql}")
        slots.append(found[0])
    return tuple(slots)


def _bind(
    params: tuple, slots: tuple[_Slot, ...], placeholders: tuple[Value, ...], values, connection
) -> list:
    """The compiled parameters, each placeholder's slot given its value (escaped inside a pattern)."""
    bound = list(params)
    for (position, pattern), placeholder, value in zip(slots, placeholders, values, strict=True):
        if pattern is None:
            bound[position] = value
        else:  # as the ORM escapes a LIKE lookup's value
            bound[position] = pattern.replace(str(placeholder), connection.ops.prep_for_like_query(value))
    return bound


@dataclass(frozen=True)
class _Select(Generic[M]):
    """A compiled SELECT and how its rows become instances, as the ORM's `ModelIterable` makes them."""

    model: type[M]
    sql: str
    params: tuple
    placeholders: tuple[Value, ...]
    slots: tuple[_Slot, ...]  # where each placeholder's value goes
    init_list: tuple[str, ...]  # the model's columns, in select order (from the first column)
    converters: dict  # position → (converters, expression): the compiler's own
    annotations: tuple[tuple[str, int], ...]  # annotation attributes and their positions

    def rows(self, values: tuple[Value, ...]) -> list[M]:
        connection = connections[DEFAULT_DB_ALIAS]  # this thread's, as the ORM's would be
        with connection.cursor() as cursor:
            cursor.execute(self.sql, _bind(self.params, self.slots, self.placeholders, values, connection))
            fetched = cursor.fetchall()
        found = []
        width = len(self.init_list)
        for row in fetched:
            row = list(row)
            for position, (converters, expression) in self.converters.items():
                for converter in converters:
                    row[position] = converter(row[position], expression, connection)
            instance = self.model.from_db(DEFAULT_DB_ALIAS, self.init_list, row[:width])
            for name, position in self.annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found


class CompiledSelect(Generic[M]):
    """`build(*values)` → a queryset of one model; `.first(*values)` is `build(*values).first()` and
    `.all(*values)` is `list(build(*values))` (annotations become attributes, as on the queryset's)."""

    def __init__(self, build: Callable[..., QuerySet[M]], *placeholders: Value) -> None:
        for value in placeholders:
            if type(value) not in (int, str):
                raise TypeError(f"placeholders are int or str, not {type(value).__name__}")
        self._build = build
        self._placeholders = placeholders
        self._by_vendor: dict[tuple[str, bool], _Select[M]] = {}

    def first(self, *values: Value) -> M | None:
        return next(iter(self._select(values, first=True).rows(values)), None)

    def all(self, *values: Value) -> list[M]:
        return self._select(values, first=False).rows(values)

    def _select(self, values: tuple[Value, ...], *, first: bool) -> _Select[M]:
        _check_values(values, self._placeholders)
        key = (connections[DEFAULT_DB_ALIAS].vendor, first)
        if key not in self._by_vendor:
            self._by_vendor[key] = self._compile(first=first)
        return self._by_vendor[key]

    def _compile(self, *, first: bool) -> _Select[M]:
        queryset = self._build(*self._placeholders)
        if first:  # as QuerySet.first(): its own ordering, else the primary key's
            queryset = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
        compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()  # also sets up `select` and `klass_info`
        info = compiler.klass_info
        if info["model"] is not queryset.model or info.get("related_klass_infos") or info["select_fields"][0]:
            raise ValueError(f"{sql}: only the model's own columns, first, are compiled")
        columns = compiler.select[: info["select_fields"][-1] + 1]
        return _Select(
            model=queryset.model,
            sql=sql,
            params=tuple(params),
            placeholders=self._placeholders,
            slots=_slots(sql, params, self._placeholders, in_patterns=False),
            init_list=tuple(column.target.attname for column, _, _ in columns),
            converters=compiler.get_converters([expression for expression, _, _ in compiler.select]),
            annotations=tuple(compiler.annotation_col_map.items()),
        )


class CompiledUpdate:
    """`model.objects.filter(<where>=…).update(<fields>=…)` → the number of rows it changed.

    `fields` are the columns it sets (a foreign key by its attname, `group_id`); `where` the columns
    it matches, by equality, on int or str values (`pk` by default). A None value makes its column
    `= NULL` in the ORM's SQL, so each pattern of NULLs is compiled once. Plain values only: an
    expression (`F("sends") + 1`) stays a queryset.
    """

    def __init__(self, model: type[Model], fields: tuple[str, ...], *, where: tuple[str, ...] = ("pk",)):
        self._model = model
        self._names = fields
        self._wanted = set(fields)
        self._where = where
        self._by_shape: dict[tuple, str] = {}

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """Looked up on first use: an instance may be made at import time, before the models are."""
        return tuple(self._model._meta.get_field(name) for name in self._names)

    def run(self, *where_values: Value, **values: object) -> int:
        if len(where_values) != len(self._where):
            raise TypeError(f"expected {len(self._where)} values to match, got {len(where_values)}")
        for value in where_values:
            if type(value) not in (int, str):
                raise TypeError(f"{value!r}: rows are matched on int or str values")
        if values.keys() != self._wanted:
            raise TypeError(f"expected values for {self._names}, got {tuple(values)}")
        connection = connections[DEFAULT_DB_ALIAS]
        prepared = [
            field.get_db_prep_save(values[name], connection)
            for name, field in zip(self._names, self.fields, strict=True)
        ]
        params = [value for value in prepared if value is not None] + list(where_values)
        shape = (connection.vendor, tuple(value is None for value in prepared))
        sql = self._by_shape.get(shape)
        if sql is None:
            sql = self._by_shape[shape] = self._compile(where_values, values, params)
        with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _compile(self, where_values: tuple[Value, ...], values: dict[str, object], params: list) -> str:
        """The ORM's SQL for this call, once it is proven to take exactly the parameters `run` makes."""
        # Both in the order `run` binds them: Q(**kwargs) would sort the columns to match, and the
        # SET list follows the dict's order. Equal values on this call could not show a swap.
        matched = Q(*zip(self._where, where_values, strict=True))
        query = self._model._default_manager.filter(matched).query.chain(UpdateQuery)
        query.add_update_values({name: values[name] for name in self._names})
        if query.related_updates:
            raise ValueError(f"{self._names}: an update of a parent model's columns is not compiled")
        if any(hasattr(field, "get_placeholder") for field in self.fields):
            raise ValueError(f"{self._names}: a field with its own SQL placeholder is not compiled")
        sql, orm_params = query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
        if list(orm_params) != params or "%s" not in sql:
            raise ValueError(f"{sql} takes {orm_params!r}, not the {params!r} it would be given")
        return sql


_SAVES: dict[tuple[type[Model], tuple[str, ...]], CompiledUpdate] = {}


def save_fields(instance: Model, fields: tuple[str, ...]) -> None:
    """`instance.save(update_fields=fields)` for a model no signal receiver watches, compiled once.

    As `save` does, each field's `pre_save` gives the value (an `auto_now` field takes the time), and
    a row that is gone raises DatabaseError.
    """
    model = type(instance)
    key = (model, fields)
    update = _SAVES.get(key)
    if update is None:
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            raise ValueError(f"{model.__name__} has save receivers: save() it")
        update = _SAVES[key] = CompiledUpdate(model, fields)
    values = {
        name: field.pre_save(instance, add=False) for name, field in zip(fields, update.fields, strict=True)
    }
    if not update.run(instance.pk, **values):
        raise DatabaseError("Save with update_fields did not affect any rows.")


class CompiledSum:
    """`build(*values).aggregate(total=expression)["total"]`, compiled once per database.

    Placeholders as `CompiledSelect`'s, except that a str placeholder may also stand inside a LIKE
    pattern (`symbol__endswith=f"/{quote}"`): there the value is escaped for LIKE, as the ORM does.
    The row comes back through the ORM's own converters (over SQLite a SUM is a float until they
    make it a Decimal). The call that compiles also asks the ORM, and refuses if the two differ.
    """

    def __init__(self, build: Callable[..., QuerySet], expression: Expression, *placeholders: Value) -> None:
        for value in placeholders:
            if type(value) not in (int, str) or (type(value) is str and not value.isalnum()):
                raise TypeError(f"placeholders are int or plain words, not {value!r}")
        self._build = build
        self._expression = expression
        self._placeholders = placeholders
        self._by_vendor: dict[str, tuple] = {}

    def total(self, *values: Value) -> object:
        _check_values(values, self._placeholders)
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = self._by_vendor.get(connection.vendor)
        if compiled is None:
            compiled = self._compile()
            total = self._run(compiled, values)
            orm = self._build(*values).aggregate(total=self._expression)["total"]
            if total != orm or type(total) is not type(orm):
                raise ValueError(f"{compiled[1]} gave {total!r}, the ORM {orm!r}")
            self._by_vendor[connection.vendor] = compiled
            return total
        return self._run(compiled, values)

    def _run(self, compiled: tuple, values: tuple[Value, ...]) -> object:
        sql, params, slots, converters, column = compiled
        connection = connections[DEFAULT_DB_ALIAS]  # this thread's, as the ORM's would be
        with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), connection.cursor() as cursor:
            cursor.execute(sql, _bind(params, slots, self._placeholders, values, connection))
            (total,) = cursor.fetchone()
        for converter in converters:
            total = converter(total, column, connection)
        return total

    def _compile(self) -> tuple:
        # What `QuerySet.aggregate` asks, without its wrapping: one SUM over the filtered rows.
        query = self._build(*self._placeholders).query.chain()
        query.add_annotation(self._expression, "total")
        query.set_annotation_mask(["total"])
        query.default_cols = False
        query.clear_ordering(force=True)
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        slots = _slots(sql, params, self._placeholders, in_patterns=True)
        column = query.annotation_select["total"]
        converters = compiler.get_converters([column]).get(0, ((), column))[0]
        return sql, tuple(params), slots, tuple(converters), column


class CompiledInsert:
    """`Model.objects.bulk_create(rows)` for rows whose new ids nobody reads back, compiled once per
    database and number of rows.

    Every value is the field's `pre_save(row, add=True)` prepared by its `get_db_prep_save`, as the
    ORM's INSERT does (the JSON of a JSONField included). The parameters go in the layout the ORM
    chose for that statement: row after row, or (PostgreSQL, several rows) one array per column for
    its UNNEST. The call that compiles checks that the ORM would have sent exactly those parameters.
    """

    MAX_PARAMS = 900  # beyond, the ORM splits the rows into batches (SQLite's limit): it is used instead

    def __init__(self, model: type[Model]) -> None:
        self._model = model
        self._by_shape: dict[tuple[str, int], tuple[str, bool]] = {}

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(
            f for f in self._model._meta.concrete_fields if not f.generated and f is not self._model._meta.pk
        )

    def run(self, rows: list[Model]) -> None:
        if not rows:
            return
        if len(rows) * len(self.fields) > self.MAX_PARAMS:
            self._model._default_manager.bulk_create(rows)
            return
        connection = connections[DEFAULT_DB_ALIAS]
        values = [[self._prepared(field, row, connection) for field in self.fields] for row in rows]
        shape = (connection.vendor, len(rows))
        compiled = self._by_shape.get(shape)
        if compiled is None:
            compiled = self._by_shape[shape] = self._compile(rows, values)
        sql, by_column = compiled
        params = (
            [list(column) for column in zip(*values, strict=True)]
            if by_column
            else [v for row in values for v in row]
        )
        with transaction.mark_for_rollback_on_error(DEFAULT_DB_ALIAS), connection.cursor() as cursor:
            cursor.execute(sql, params)

    @staticmethod
    def _prepared(field: Field, row: Model, connection) -> object:
        value = field.pre_save(row, add=True)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"{field.name}: an expression is inserted by the ORM, not compiled")
        return field.get_db_prep_save(value, connection=connection)

    def _compile(self, rows: list[Model], values: list[list]) -> tuple[str, bool]:
        query = InsertQuery(self._model)
        query.insert_values(self.fields, rows)
        statements = query.get_compiler(DEFAULT_DB_ALIAS).as_sql()  # no RETURNING: ids are not read
        if len(statements) != 1:
            raise ValueError(f"{self._model.__name__}: {len(rows)} rows take {len(statements)} statements")
        sql, orm_params = statements[0]
        flat = [v for row in values for v in row]
        by_column = [list(column) for column in zip(*values, strict=True)]
        for layout, params in ((False, flat), (True, by_column)):
            if _same(list(orm_params), params):
                return sql, layout
        raise ValueError(f"{sql} takes {orm_params!r}, not the values it would be given")


def _same(a: object, b: object) -> bool:
    """Equal parameters; adapters without equality (psycopg's Jsonb) by type and representation."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and (a == b or repr(a) == repr(b))
