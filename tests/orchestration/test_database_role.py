"""Production's application role (issue 12, item 4): connected as it, the app's tables are writable but the
audit log only takes new rows, and nothing it can do removes, changes or unguards an event."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import AuditEventFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the role and its grants must be committed


def _as_owner(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.fixture
def app_role() -> Iterator[str]:
    role = f"pp_app_{uuid.uuid4().hex[:10]}"  # roles are cluster-wide: one per test, dropped after
    yield role
    _as_owner(f"DROP OWNED BY {role}")
    _as_owner(f"DROP ROLE IF EXISTS {role}")


def _connect_as(role: str) -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params["user"], params["password"] = role, ""
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.slow
def test_the_app_role_writes_its_tables_but_only_appends_to_the_audit_log(app_role, capsys):
    event = AuditEventFactory()
    customer = CustomerFactory()
    call_command("db_app_role", app_role)
    assert f"Created role {app_role}" in capsys.readouterr().out

    with _connect_as(app_role) as db:
        # What the application needs works.
        db.execute("UPDATE tenants_customer SET is_active = false WHERE id = %s", [customer.pk])
        db.execute(
            "INSERT INTO orchestration_auditevent (occurred_at, actor_kind, actor_label, customer_label, "
            "aws_account_id, region, action, target_type, target_id, aws_request_id, outcome, error_code, "
            "error_message, details) VALUES (now(), 'STAFF', 'ops', '', '', '', 'StartWorkspaces', "
            "'desktop', 'ws-123456789', '', 'SUCCEEDED', '', '', '{}')"
        )
        assert db.execute("SELECT count(*) FROM orchestration_auditevent").fetchone() == (2,)
        # What would rewrite history does not, whatever the trigger says.
        for statement in (
            "UPDATE orchestration_auditevent SET outcome = 'FAILED'",
            "DELETE FROM orchestration_auditevent",
            "TRUNCATE orchestration_auditevent",
            "ALTER TABLE orchestration_auditevent DISABLE TRIGGER ALL",
            "ALTER TABLE orchestration_auditevent DISABLE TRIGGER orchestration_auditevent_append_only",
            "DROP TRIGGER orchestration_auditevent_append_only ON orchestration_auditevent",
            "TRUNCATE tenants_customer CASCADE",
            "DELETE FROM django_migrations",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(statement)
        assert db.execute("SELECT count(*) FROM orchestration_auditevent").fetchone() == (2,)
        assert db.execute(
            "SELECT outcome FROM orchestration_auditevent WHERE id = %s", [event.pk]
        ).fetchone() == (event.outcome,)
        assert db.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user").fetchone() == (0,)


@pytest.mark.slow
def test_running_it_again_updates_the_role_and_keeps_the_audit_log_append_only(app_role, capsys):
    call_command("db_app_role", app_role)
    _as_owner(f"GRANT UPDATE, DELETE, TRUNCATE ON orchestration_auditevent TO {app_role}")  # drift
    call_command("db_app_role", app_role)
    assert f"Updated role {app_role}" in capsys.readouterr().out
    with _connect_as(app_role) as db:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("TRUNCATE orchestration_auditevent")
        assert db.execute(
            "SELECT has_table_privilege('orchestration_auditevent', 'UPDATE'),"
            " has_table_privilege('orchestration_auditevent', 'DELETE'),"
            " has_table_privilege('orchestration_auditevent', 'INSERT')"
        ).fetchone() == (False, False, True)


@pytest.mark.slow
def test_a_role_that_would_not_be_least_privilege_is_refused(app_role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="the role running this command"):
        call_command("db_app_role", owner)
    with pytest.raises(CommandError, match="lower-case letters"):
        call_command("db_app_role", 'app"; DROP TABLE x; --')
    _as_owner(f"CREATE ROLE {app_role} SUPERUSER")
    with pytest.raises(CommandError, match="superuser"):
        call_command("db_app_role", app_role)
