"""On PostgreSQL the database itself refuses UPDATE and DELETE of audit events (threat S3)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION orchestration_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on orchestration_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orchestration_auditevent_append_only
    BEFORE UPDATE OR DELETE ON orchestration_auditevent
    FOR EACH ROW EXECUTE FUNCTION orchestration_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS orchestration_auditevent_append_only ON orchestration_auditevent;
DROP FUNCTION IF EXISTS orchestration_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
