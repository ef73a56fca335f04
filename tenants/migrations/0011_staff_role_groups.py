"""Partner staff roles as Django groups: Administrator, Support, Help desk, Auditor (tenants.access)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from tenants.access import STAFF_ROLES, staff_roles_sync


def make_roles(apps, schema_editor):
    # Permissions are made after all migrations by post_migrate; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    staff_roles_sync(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(STAFF_ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("orchestration", "0008_adopt_release_job_kinds"),
        ("tenants", "0010_untracked_workspaces"),
    ]

    operations = [migrations.RunPython(make_roles, remove_roles)]
