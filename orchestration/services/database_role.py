"""The least-privilege PostgreSQL role production runs as (issue 12, item 4).

Migrations run as the tables' owner; the web app, the workers and beat connect as a role that owns
nothing: it may read and write the application's tables, only read and append to the audit log, and
only read the migration history. Owning nothing, it cannot disable the audit log's triggers, drop them
or truncate anything. Run it as the owner after every `migrate` (it is idempotent); default privileges
also cover tables later migrations add.
"""

import re
from dataclasses import dataclass

from django.db import connection, transaction

from orchestration.models import AuditEvent
from orchestration.services.errors import RequestInvalid

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables the role may touch less than the rest: the audit log is append-only, the migration history
# is the owner's to write.
LIMITED_TABLES = {
    AuditEvent._meta.db_table: "SELECT, INSERT",
    "django_migrations": "SELECT",
}


@dataclass(frozen=True)
class AppRoleResult:
    role: str
    created: bool
    owner: str
    tables: int


def app_role_apply(*, role: str, password: str | None = None) -> AppRoleResult:
    """Create or update `role` with the application's privileges on the current database's schema.

    Refuses (RequestInvalid) a name that is not a plain identifier, the connected role itself, a
    superuser, and a role that owns any of the schema's tables: none of them would be least privilege.
    """
    if connection.vendor != "postgresql":
        raise RequestInvalid({"database": ["A database role is a PostgreSQL thing; SQLite has none."]})
    if not ROLE_NAME.match(role):
        raise RequestInvalid({"role": [f"{role!r}: use lower-case letters, digits and _ (at most 63)."]})
    quoted = connection.ops.quote_name(role)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        if role == owner:
            raise RequestInvalid(
                {"role": [f"{role} is the role running this command (the owner); name another role."]}
            )
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is not None and row[0]:
            raise RequestInvalid({"role": [f"{role} is a superuser; the application role must not be."]})
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tableowner = %s", [schema, role]
        )
        owned = cursor.fetchone()[0]
        if owned:
            raise RequestInvalid(
                {
                    "role": [
                        f"{role} owns {owned} tables; run `REASSIGN OWNED BY {role} TO {owner}` "
                        "first, so that it cannot disable their triggers."
                    ]
                }
            )
        attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        verb = "CREATE" if row is None else "ALTER"
        if password:
            cursor.execute(f"{verb} ROLE {quoted} {attributes} PASSWORD %s", [password])
        else:
            cursor.execute(f"{verb} ROLE {quoted} {attributes}")
        schema_q, database_q = connection.ops.quote_name(schema), connection.ops.quote_name(database)
        statements = [
            f"GRANT CONNECT ON DATABASE {database_q} TO {quoted}",
            f"GRANT USAGE ON SCHEMA {schema_q} TO {quoted}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {quoted}",
            f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema_q} TO {quoted}",
            *(
                statement
                for table, privileges in LIMITED_TABLES.items()
                for statement in (
                    f"REVOKE ALL ON {connection.ops.quote_name(table)} FROM {quoted}",
                    f"GRANT {privileges} ON {connection.ops.quote_name(table)} TO {quoted}",
                )
            ),
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {quoted}",
            # Tables and sequences the owner creates later (new migrations) get the same grants.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} GRANT {TABLE_PRIVILEGES} ON TABLES TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        ]
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
        tables = cursor.fetchone()[0]
    return AppRoleResult(role=role, created=row is None, owner=owner, tables=tables)
