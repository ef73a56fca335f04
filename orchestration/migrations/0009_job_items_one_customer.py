"""A job's items touch only its customer's desktops, and a job never changes customer (issue 12, item 2).

PostgreSQL only, like the tenants' relations (tenants migration 0011, whose owner trigger it reuses);
JobItem.clean() gives the same answer with the field's name.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION orchestration_jobitem_desktop_same_customer() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM orchestration_job j
        JOIN tenants_awsaccount a ON a.customer_id = j.customer_id
        JOIN tenants_desktop d ON d.aws_account_id = a.id
        WHERE j.id = NEW.job_id AND d.id = NEW.desktop_id
    ) THEN
        RAISE EXCEPTION 'job % cannot act on desktop % of another customer', NEW.job_id, NEW.desktop_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER orchestration_jobitem_desktop_same_customer
    AFTER INSERT OR UPDATE OF desktop_id, job_id ON orchestration_jobitem
    FOR EACH ROW WHEN (NEW.desktop_id IS NOT NULL)
    EXECUTE FUNCTION orchestration_jobitem_desktop_same_customer();

CREATE TRIGGER orchestration_job_customer_immutable
    BEFORE UPDATE OF customer_id ON orchestration_job
    FOR EACH ROW EXECUTE FUNCTION tenants_owner_immutable('customer_id');
"""

DROP = """
DROP TRIGGER IF EXISTS orchestration_job_customer_immutable ON orchestration_job;
DROP TRIGGER IF EXISTS orchestration_jobitem_desktop_same_customer ON orchestration_jobitem;
DROP FUNCTION IF EXISTS orchestration_jobitem_desktop_same_customer();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0008_adopt_release_job_kinds"),
        ("tenants", "0011_tenant_safe_relations"),
    ]

    operations = [migrations.RunPython(create, drop)]
