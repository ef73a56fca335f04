"""The database writes a DesktopStateChange row whenever a desktop is inserted or its state changes.

A trigger sees every write (ORM saves, bulk updates, raw SQL), so usage metering has no gaps. The time
is the desktop's `state_changed_at` when the same write moved it, otherwise the transaction's time.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION tenants_desktop_record_state() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO tenants_desktopstatechange (desktop_id, state, changed_at)
        VALUES (
            NEW.id,
            NEW.state,
            CASE
                WHEN TG_OP = 'INSERT' THEN COALESCE(NEW.state_changed_at, now())
                WHEN NEW.state_changed_at IS DISTINCT FROM OLD.state_changed_at
                    THEN COALESCE(NEW.state_changed_at, now())
                ELSE now()
            END
        );
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_desktop_record_state
    AFTER INSERT OR UPDATE OF state ON tenants_desktop
    FOR EACH ROW EXECUTE FUNCTION tenants_desktop_record_state();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS tenants_desktop_record_state ON tenants_desktop;
DROP FUNCTION IF EXISTS tenants_desktop_record_state();
"""

# Development runs on SQLite: the same history, so metering works in `make run` too.
SQLITE_CREATE = [
    """
    CREATE TRIGGER tenants_desktop_record_state_insert AFTER INSERT ON tenants_desktop
    BEGIN
        INSERT INTO tenants_desktopstatechange (desktop_id, state, changed_at)
        VALUES (NEW.id, NEW.state, COALESCE(NEW.state_changed_at, strftime('%Y-%m-%d %H:%M:%f', 'now')));
    END;
    """,
    """
    CREATE TRIGGER tenants_desktop_record_state_update AFTER UPDATE OF state ON tenants_desktop
    WHEN NEW.state IS NOT OLD.state
    BEGIN
        INSERT INTO tenants_desktopstatechange (desktop_id, state, changed_at)
        VALUES (
            NEW.id,
            NEW.state,
            CASE
                WHEN NEW.state_changed_at IS NOT OLD.state_changed_at AND NEW.state_changed_at IS NOT NULL
                    THEN NEW.state_changed_at
                ELSE strftime('%Y-%m-%d %H:%M:%f', 'now')
            END
        );
    END;
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tenants_desktop_record_state_insert;",
    "DROP TRIGGER IF EXISTS tenants_desktop_record_state_update;",
]


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_desktop_activity_history_tokens")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
