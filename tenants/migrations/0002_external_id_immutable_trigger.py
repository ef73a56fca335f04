"""On PostgreSQL the database refuses any change to an account's External ID (confused deputy, S2)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION tenants_awsaccount_external_id_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.external_id IS DISTINCT FROM OLD.external_id THEN
        RAISE EXCEPTION 'the External ID of an AWS account connection can never change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_awsaccount_external_id_immutable
    BEFORE UPDATE ON tenants_awsaccount
    FOR EACH ROW EXECUTE FUNCTION tenants_awsaccount_external_id_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS tenants_awsaccount_external_id_immutable ON tenants_awsaccount;
DROP FUNCTION IF EXISTS tenants_awsaccount_external_id_immutable();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
