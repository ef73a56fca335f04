"""Pools (issue 17): the pool, its desktops and its samples, kept inside one tenant by the database.

- Composite foreign keys: a pool's account is its customer's; its directory and bundle are in its
  account; a pool desktop's pool and desktop are both in the row's account (so a pool never holds
  another tenant's desktop).
- A constraint trigger: a pool's power policy is its customer's.
- A pool's customer and account never change (tenants_owner_immutable from migration 0011).

PostgreSQL only; Pool.clean() gives the same answers with field names on every database.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import tenants.models.pools

COMPOSITE_KEYS = [
    (
        "tenants_pool",
        "pool_account_same_customer",
        "aws_account_id, customer_id",
        "tenants_awsaccount (id, customer_id)",
    ),
    (
        "tenants_pool",
        "pool_directory_same_account",
        "directory_id, aws_account_id",
        "tenants_directory (id, aws_account_id)",
    ),
    (
        "tenants_pool",
        "pool_bundle_same_account",
        "bundle_id, aws_account_id",
        "tenants_bundle (id, aws_account_id)",
    ),
    (
        "tenants_pooldesktop",
        "pool_desktop_pool_same_account",
        "pool_id, aws_account_id",
        "tenants_pool (id, aws_account_id)",
    ),
    (
        "tenants_pooldesktop",
        "pool_desktop_desktop_same_account",
        "desktop_id, aws_account_id",
        "tenants_desktop (id, aws_account_id)",
    ),
]
OWNER_COLUMNS = [
    ("tenants_pool", "customer_id"),
    ("tenants_pool", "aws_account_id"),
    ("tenants_pooldesktop", "aws_account_id"),
]

POLICY_TRIGGER = """
CREATE OR REPLACE FUNCTION tenants_pool_power_policy_same_customer() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM tenants_powerpolicy p WHERE p.id = NEW.power_policy_id AND p.customer_id = NEW.customer_id
    ) THEN
        RAISE EXCEPTION 'pool % cannot use power policy % of another customer', NEW.id, NEW.power_policy_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tenants_pool_power_policy_same_customer
    AFTER INSERT OR UPDATE OF power_policy_id, customer_id ON tenants_pool
    FOR EACH ROW WHEN (NEW.power_policy_id IS NOT NULL)
    EXECUTE FUNCTION tenants_pool_power_policy_same_customer();
"""


def _owner_trigger(table: str, column: str) -> str:
    return f"{table}_{column.removesuffix('_id')}_immutable"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, columns, target in COMPOSITE_KEYS:
        schema_editor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) REFERENCES {target}",
            params=None,
        )
    schema_editor.execute(POLICY_TRIGGER, params=None)
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
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS tenants_pool_power_policy_same_customer ON tenants_pool; "
        "DROP FUNCTION IF EXISTS tenants_pool_power_policy_same_customer();",
        params=None,
    )
    for table, name, _, _ in COMPOSITE_KEYS:
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0013_merge_roles_and_tenant_safe_relations"),
    ]

    operations = [
        migrations.CreateModel(
            name="Pool",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "region",
                    models.CharField(
                        max_length=30,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[a-z]{2}(-gov)?-[a-z]+-\\d$", "A region looks like us-east-1."
                            )
                        ],
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                (
                    "running_mode",
                    models.CharField(
                        choices=[("MANUAL", "MANUAL"), ("ALWAYS_ON", "ALWAYS_ON")],
                        default="MANUAL",
                        help_text="MANUAL desktops are billed only while running, so spare ones beyond the buffer are stopped.",
                        max_length=10,
                    ),
                ),
                (
                    "min_size",
                    models.PositiveIntegerField(
                        default=0, validators=[django.core.validators.MaxValueValidator(5000)]
                    ),
                ),
                (
                    "max_size",
                    models.PositiveIntegerField(
                        default=10,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(5000),
                        ],
                    ),
                ),
                (
                    "buffer",
                    models.PositiveIntegerField(
                        default=2,
                        help_text="Warm, unassigned desktops.",
                        validators=[django.core.validators.MaxValueValidator(5000)],
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        default="UTC", max_length=64, validators=[tenants.models.pools.validate_time_zone]
                    ),
                ),
                (
                    "schedule",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Weekly windows, each with its own min and buffer, in the pool's time zone.",
                        validators=[tenants.models.pools.validate_pool_windows],
                    ),
                ),
                (
                    "persistent",
                    models.BooleanField(
                        default=False,
                        help_text="A user keeps the same desktop; otherwise desktops are rebuilt between users.",
                    ),
                ),
                (
                    "release_delay_minutes",
                    models.PositiveIntegerField(
                        default=15,
                        help_text="After a disconnect, how long a non-persistent desktop stays with its user.",
                    ),
                ),
                (
                    "max_unavailable_percent",
                    models.PositiveSmallIntegerField(
                        default=10,
                        help_text="Rolling image updates take at most this share of the pool out of service at once.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(100),
                        ],
                    ),
                ),
                ("enabled", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "aws_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pools",
                        to="tenants.awsaccount",
                    ),
                ),
                (
                    "bundle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="pools", to="tenants.bundle"
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pools",
                        to="tenants.customer",
                    ),
                ),
                (
                    "directory",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pools",
                        to="tenants.directory",
                    ),
                ),
                (
                    "power_policy",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="pools",
                        to="tenants.powerpolicy",
                    ),
                ),
            ],
            options={
                "ordering": ["customer__name", "name"],
            },
        ),
        migrations.CreateModel(
            name="PoolDesktop",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("assigned_user", models.CharField(blank=True, max_length=63, null=True)),
                ("assigned_at", models.DateTimeField(blank=True, null=True)),
                (
                    "needs_recycle",
                    models.BooleanField(
                        default=False, help_text="Held by someone before: rebuilt before anyone else gets it."
                    ),
                ),
                (
                    "pending_action",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "Nothing"),
                            ("create", "Creating"),
                            ("start", "Starting"),
                            ("stop", "Stopping"),
                            ("rebuild", "Rebuilding"),
                            ("terminate", "Terminating"),
                        ],
                        default="",
                        max_length=10,
                    ),
                ),
                ("pending_job_id", models.BigIntegerField(blank=True, null=True)),
                ("pending_since", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "aws_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenants.awsaccount"
                    ),
                ),
                (
                    "desktop",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pool_membership",
                        to="tenants.desktop",
                    ),
                ),
                (
                    "pool",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="members", to="tenants.pool"
                    ),
                ),
            ],
            options={
                "ordering": ["pool_id", "pk"],
            },
        ),
        migrations.CreateModel(
            name="PoolSample",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("taken_at", models.DateTimeField()),
                ("size", models.PositiveIntegerField()),
                ("assigned", models.PositiveIntegerField()),
                ("warm", models.PositiveIntegerField()),
                ("stopped", models.PositiveIntegerField()),
                ("target", models.PositiveIntegerField()),
                (
                    "pool",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="samples", to="tenants.pool"
                    ),
                ),
            ],
            options={
                "ordering": ["pool_id", "taken_at"],
            },
        ),
        migrations.AddConstraint(
            model_name="pool",
            constraint=models.UniqueConstraint(fields=("customer", "name"), name="pool_name_per_customer"),
        ),
        migrations.AddConstraint(
            model_name="pool",
            constraint=models.UniqueConstraint(fields=("id", "aws_account"), name="pool_id_account"),
        ),
        migrations.AddConstraint(
            model_name="pool",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_size__lte", models.F("max_size")),
                    ("buffer__lte", models.F("max_size")),
                    ("max_size__gte", 1),
                ),
                name="pool_sizes_ordered",
            ),
        ),
        migrations.AddConstraint(
            model_name="pool",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_unavailable_percent__gte", 1), ("max_unavailable_percent__lte", 100)
                ),
                name="pool_max_unavailable_percent",
            ),
        ),
        migrations.AddConstraint(
            model_name="pool",
            constraint=models.CheckConstraint(
                condition=models.Q(("running_mode", "AUTO_STOP"), _negated=True), name="pool_no_auto_stop"
            ),
        ),
        migrations.AddIndex(
            model_name="pooldesktop",
            index=models.Index(fields=["pool", "assigned_user"], name="pool_desktop_assignment"),
        ),
        migrations.AddConstraint(
            model_name="pooldesktop",
            constraint=models.UniqueConstraint(
                condition=models.Q(("assigned_user__isnull", False)),
                fields=("pool", "assigned_user"),
                name="one_desktop_per_user_per_pool",
            ),
        ),
        migrations.AddConstraint(
            model_name="pooldesktop",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("assigned_user__isnull", True), ("assigned_at__isnull", False), _connector="OR"
                ),
                name="pool_assignment_has_time",
            ),
        ),
        migrations.AddIndex(
            model_name="poolsample",
            index=models.Index(fields=["pool", "taken_at"], name="pool_sample_time"),
        ),
        migrations.RunPython(create, drop),
    ]
