"""The database keeps every relation within one tenant (issue 12, item 2), whatever path writes the row.

- Composite foreign keys where both rows name their AWS account or customer: a desktop's directory and
  bundle, a bundle's image, an image's source, a pipeline's golden desktop are in the row's own AWS
  account; a pipeline's account is its customer's. The targets get a unique (id, owner) to point at.
- Constraint triggers where a key cannot reach: a desktop's power policy is its account's customer's;
  a pipeline's target bundles are in the pipeline's account.
- The owner of a row never changes (an account's customer, a power policy's customer, a resource's AWS
  account): moving one would carry its desktops and history into another tenant.

PostgreSQL only; models' clean() gives the same answers with field names on every database.
"""

from django.db import migrations, models

COMPOSITE_KEYS = [
    # (table, constraint, columns, target table: its (id, owner) in TARGET_KEYS)
    (
        "tenants_desktop",
        "desktop_directory_same_account",
        "directory_id, aws_account_id",
        "tenants_directory",
    ),
    ("tenants_desktop", "desktop_bundle_same_account", "bundle_id, aws_account_id", "tenants_bundle"),
    ("tenants_bundle", "bundle_image_same_account", "image_id, aws_account_id", "tenants_image"),
    ("tenants_image", "image_source_same_account", "source_image_id, aws_account_id", "tenants_image"),
    (
        "tenants_goldenimagepipeline",
        "pipeline_golden_desktop_same_account",
        "golden_desktop_id, aws_account_id",
        "tenants_desktop",
    ),
    (
        "tenants_goldenimagepipeline",
        "pipeline_account_same_customer",
        "aws_account_id, customer_id",
        "tenants_awsaccount",
    ),
]

TARGET_KEYS = {
    "tenants_directory": "id, aws_account_id",
    "tenants_bundle": "id, aws_account_id",
    "tenants_image": "id, aws_account_id",
    "tenants_desktop": "id, aws_account_id",
    "tenants_awsaccount": "id, customer_id",
}

# (table, owner column): the tenant a row belongs to, fixed once written.
OWNER_COLUMNS = [
    ("tenants_awsaccount", "customer_id"),
    ("tenants_powerpolicy", "customer_id"),
    ("tenants_directory", "aws_account_id"),
    ("tenants_image", "aws_account_id"),
    ("tenants_bundle", "aws_account_id"),
    ("tenants_desktop", "aws_account_id"),
]

TRIGGERS = """
CREATE OR REPLACE FUNCTION tenants_owner_immutable() RETURNS trigger AS $$
BEGIN
    IF to_jsonb(NEW) -> TG_ARGV[0] IS DISTINCT FROM to_jsonb(OLD) -> TG_ARGV[0] THEN
        RAISE EXCEPTION '%.% never changes: a row stays with the tenant it was made for',
            TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tenants_desktop_power_policy_same_customer() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM tenants_powerpolicy p JOIN tenants_awsaccount a ON a.customer_id = p.customer_id
        WHERE p.id = NEW.power_policy_id AND a.id = NEW.aws_account_id
    ) THEN
        RAISE EXCEPTION 'desktop % cannot use power policy % of another customer', NEW.id, NEW.power_policy_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tenants_desktop_power_policy_same_customer
    AFTER INSERT OR UPDATE OF power_policy_id, aws_account_id ON tenants_desktop
    FOR EACH ROW WHEN (NEW.power_policy_id IS NOT NULL)
    EXECUTE FUNCTION tenants_desktop_power_policy_same_customer();

CREATE OR REPLACE FUNCTION tenants_pipeline_bundle_same_account() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenants_goldenimagepipeline' THEN
        IF EXISTS (
            SELECT 1 FROM tenants_goldenimagepipeline_target_bundles t
            JOIN tenants_bundle b ON b.id = t.bundle_id
            WHERE t.goldenimagepipeline_id = NEW.id AND b.aws_account_id <> NEW.aws_account_id
        ) THEN
            RAISE EXCEPTION 'pipeline % has target bundles in another AWS account', NEW.id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM tenants_goldenimagepipeline p JOIN tenants_bundle b ON b.aws_account_id = p.aws_account_id
        WHERE p.id = NEW.goldenimagepipeline_id AND b.id = NEW.bundle_id
    ) THEN
        RAISE EXCEPTION 'bundle % is in another AWS account than pipeline %', NEW.bundle_id,
            NEW.goldenimagepipeline_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tenants_pipeline_target_bundle_same_account
    AFTER INSERT OR UPDATE ON tenants_goldenimagepipeline_target_bundles
    FOR EACH ROW EXECUTE FUNCTION tenants_pipeline_bundle_same_account();

CREATE CONSTRAINT TRIGGER tenants_pipeline_account_keeps_bundles
    AFTER UPDATE OF aws_account_id ON tenants_goldenimagepipeline
    FOR EACH ROW EXECUTE FUNCTION tenants_pipeline_bundle_same_account();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS tenants_pipeline_account_keeps_bundles ON tenants_goldenimagepipeline;
DROP TRIGGER IF EXISTS tenants_pipeline_target_bundle_same_account ON tenants_goldenimagepipeline_target_bundles;
DROP FUNCTION IF EXISTS tenants_pipeline_bundle_same_account();
DROP TRIGGER IF EXISTS tenants_desktop_power_policy_same_customer ON tenants_desktop;
DROP FUNCTION IF EXISTS tenants_desktop_power_policy_same_customer();
"""


def _owner_trigger(table: str, column: str) -> str:
    return f"{table}_{column.removesuffix('_id')}_immutable"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, columns, target in COMPOSITE_KEYS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) "
            f"REFERENCES {target} ({TARGET_KEYS[target]})",
            params=None,
        )
    schema_editor.execute(TRIGGERS, params=None)
    for table, column in OWNER_COLUMNS:
        schema_editor.execute(
            f"CREATE TRIGGER {_owner_trigger(table, column)} BEFORE UPDATE OF {column} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tenants_owner_immutable('{column}')",
            params=None,
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in OWNER_COLUMNS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {_owner_trigger(table, column)} ON {table}", params=None
        )
    schema_editor.execute(DROP_TRIGGERS, params=None)
    for table, name, _columns, _target in COMPOSITE_KEYS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0010_untracked_workspaces")]

    operations = [
        migrations.AddConstraint(
            model_name="awsaccount",
            constraint=models.UniqueConstraint(fields=("id", "customer"), name="aws_account_id_customer"),
        ),
        migrations.AddConstraint(
            model_name="directory",
            constraint=models.UniqueConstraint(fields=("id", "aws_account"), name="directory_id_account"),
        ),
        migrations.AddConstraint(
            model_name="image",
            constraint=models.UniqueConstraint(fields=("id", "aws_account"), name="image_id_account"),
        ),
        migrations.AddConstraint(
            model_name="bundle",
            constraint=models.UniqueConstraint(fields=("id", "aws_account"), name="bundle_id_account"),
        ),
        migrations.AddConstraint(
            model_name="desktop",
            constraint=models.UniqueConstraint(fields=("id", "aws_account"), name="desktop_id_account"),
        ),
        migrations.RunPython(create, drop),
    ]
