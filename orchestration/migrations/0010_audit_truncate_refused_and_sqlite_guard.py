"""The audit log refuses TRUNCATE on PostgreSQL, and UPDATE and DELETE on SQLite too (issue 12, item 4).

Row triggers (migration 0002) never see a TRUNCATE, so a statement-level trigger refuses it. The table's
owner can still disable triggers; production runs as a role that owns nothing (`manage.py db_app_role`,
docs/deployment-guide.md) and has no TRUNCATE privilege at all, so this trigger stops the owner's
mistakes, not an attacker. The test suite empties every table between transactional tests with one
TRUNCATE: its connections set `partnerportal.audit_truncate = 'test-flush'`, the only thing the
trigger lets through (production never sets it, and a session that could would own the table anyway).

SQLite (`make run`) has no TRUNCATE; triggers abort UPDATE and DELETE there, as PostgreSQL's do.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION orchestration_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('partnerportal.audit_truncate', true) = 'test-flush' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: TRUNCATE refused on orchestration_auditevent'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orchestration_auditevent_no_truncate
    BEFORE TRUNCATE ON orchestration_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION orchestration_auditevent_no_truncate();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS orchestration_auditevent_no_truncate ON orchestration_auditevent;
DROP FUNCTION IF EXISTS orchestration_auditevent_no_truncate();
"""

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER orchestration_auditevent_append_only_{operation.lower()}
    BEFORE {operation} ON orchestration_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: {operation} refused on orchestration_auditevent');
    END;
    """
    for operation in ("UPDATE", "DELETE")
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS orchestration_auditevent_append_only_update;",
    "DROP TRIGGER IF EXISTS orchestration_auditevent_append_only_delete;",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0009_job_items_one_customer")]

    operations = [migrations.RunPython(create, drop)]
