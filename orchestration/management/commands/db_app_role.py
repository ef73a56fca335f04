"""`manage.py db_app_role ROLE`: the least-privilege role production's app, workers and beat connect as."""

import os

from django.core.management.base import BaseCommand, CommandError

from orchestration.services.database_role import LIMITED_TABLES, app_role_apply
from orchestration.services.errors import RequestInvalid


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the application runs as: read and write on the app's "
        "tables, only SELECT and INSERT on the audit log, owner of nothing. Run it as the tables' owner "
        "(the role migrations run as) after every migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", help="Name of the application role, e.g. partnerportal_app.")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Set the role's password from this environment variable (never on the command line). "
            "Without it a new role has no password and an existing one keeps its own.",
        )

    def handle(self, *args, **options) -> None:
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"The environment variable {options['password_env']} is empty or unset.")
        try:
            result = app_role_apply(role=options["role"], password=password)
        except RequestInvalid as exc:
            raise CommandError(str(exc)) from exc
        limited = ", ".join(f"{table}: {privileges}" for table, privileges in LIMITED_TABLES.items())
        self.stdout.write(
            f"{'Created' if result.created else 'Updated'} role {result.role}: SELECT, INSERT, UPDATE, DELETE "
            f"on {result.tables} tables owned by {result.owner}, except {limited}. It owns nothing."
        )
