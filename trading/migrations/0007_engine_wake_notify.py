"""PostgreSQL: NOTIFY engine_wake when a signal or command is inserted (trading/wake.py).

A statement-level trigger, so the webhook's transaction runs no extra statement and a batch insert
notifies once; PostgreSQL delivers the notification at commit (never for a rolled-back insert) and
folds identical ones of a transaction into one. Other databases skip this migration: `manage.py
run` wakes its engine over its own link.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION trading_wake_engine() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('engine_wake', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER trading_signal_wakes_engine AFTER INSERT ON trading_signal
    FOR EACH STATEMENT EXECUTE FUNCTION trading_wake_engine();
CREATE TRIGGER trading_command_wakes_engine AFTER INSERT ON trading_command
    FOR EACH STATEMENT EXECUTE FUNCTION trading_wake_engine();
"""

DROP = """
DROP TRIGGER IF EXISTS trading_command_wakes_engine ON trading_command;
DROP TRIGGER IF EXISTS trading_signal_wakes_engine ON trading_signal;
DROP FUNCTION IF EXISTS trading_wake_engine();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("trading", "0006_queueentry_verbose_name_plural")]

    operations = [migrations.RunPython(create, drop)]
