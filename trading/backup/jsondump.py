"""A logical dump of the project's tables with Django's serializers (JSON Lines, streamed both ways).

Used on PostgreSQL when pg_dump is missing or too old, or on request (`backup --format json`); it
restores into SQLite or PostgreSQL alike. Encrypted fields are written encrypted (the serializer would
otherwise write the decrypted value), so API keys never appear in clear in the archive.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.apps import apps
from django.core.management.color import no_style
from django.core.serializers import jsonl
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from encrypted_model_fields.fields import EncryptedMixin, encrypt_str

# The project's apps, plus the users and groups their rows point to. Not dumped: sessions (users sign
# in again), content types and permissions (migrate recreates them), the admin's log.
PROJECT_APPS = ("trading", "exchanges", "risk", "dashboard")
AUTH_MODELS = ("auth.Group", "auth.User")


def dumped_models() -> list[type[models.Model]]:
    found: list[type[models.Model]] = [apps.get_model(label) for label in AUTH_MODELS]
    for label in PROJECT_APPS:
        found += [m for m in apps.get_app_config(label).get_models() if m._meta.managed and not m._meta.proxy]
    return found


def tables() -> list[str]:
    """Every table the dump fills (with the many-to-many tables of the dumped models)."""
    names: list[str] = []
    for model in dumped_models():
        names.append(model._meta.db_table)
        names += [
            f.remote_field.through._meta.db_table
            for f in model._meta.local_many_to_many
            if f.remote_field.through._meta.auto_created
        ]
    return names


class _ExactEncoder(DjangoJSONEncoder):
    """Django's encoder cuts datetimes to milliseconds; a restore must give back the very same rows."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class Serializer(jsonl.Serializer):
    """JSON Lines, with encrypted fields written as ciphertext (decryptable only with the same key)."""

    def handle_field(self, obj, field):
        if isinstance(field, EncryptedMixin):
            value = field.value_from_object(obj)
            self._current[field.name] = None if value is None else encrypt_str(str(value)).decode()
            return
        super().handle_field(obj, field)


def dump(dest: Path) -> dict[str, int]:
    """Write every dumped row to `dest`; returns rows per table. Run it inside one REPEATABLE READ (or
    SQLite) transaction so that the dump is one consistent view."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    serializer = Serializer()
    with open(dest, "w", encoding="utf-8") as stream:
        for model in dumped_models():
            rows = model._default_manager.order_by("pk").iterator(chunk_size=2000)
            serializer.serialize(rows, stream=stream, use_natural_foreign_keys=True, cls=_ExactEncoder)
            counts[model._meta.db_table] = model._default_manager.count()
    return counts


def load(source: Path) -> int:
    """Empty the dumped tables and load the dump in one transaction: all of it or nothing."""
    loaded = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in connection.ops.sql_flush(no_style(), tables(), allow_cascade=True):
                cursor.execute(sql)
        with connection.constraint_checks_disabled(), open(source, encoding="utf-8") as stream:
            deferred = []
            for obj in jsonl.Deserializer(stream, handle_forward_references=True):
                obj.save()
                if obj.deferred_fields:
                    deferred.append(obj)
                loaded += 1
            for obj in deferred:
                obj.save_deferred_fields()
        connection.check_constraints(table_names=tables())
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), dumped_models()):
                cursor.execute(sql)
    return loaded
