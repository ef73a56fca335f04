"""Each pytest-xdist process's test database, copied from a migrated template instead of migrated anew.

Migrating the schema took each test process about 6 s of CPU, all of them at once when `make test`
starts. The template is migrated once per set of migrations (its name carries a hash of every app's
migration files, so a changed or new migration makes a new one) and kept between runs; each process then
gets `CREATE DATABASE … TEMPLATE`, a file copy. Django is told to keep the database it finds, and its
`migrate` finds nothing to apply.
"""

import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.apps import apps
from django.db import connections

ROOT = Path(__file__).resolve().parents[1]


def migrations_fingerprint() -> str:
    """A hash of every installed app's migration files: the template is good for exactly these."""
    digest = hashlib.sha256()
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        for path in sorted(Path(app.path, "migrations").glob("*.py")):
            digest.update(f"{app.label}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def copy_test_database_from_template(alias: str = "default") -> bool:
    """Make this process's test database a copy of the template (building the template first if no run
    has yet); False where that does not apply (not PostgreSQL), and Django creates it as usual."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    settings = connection.settings_dict
    test_name = connection.creation._get_test_db_name()
    base = re.sub(r"_gw\d+$", "", settings["NAME"])
    template = f"test_{base}_tpl_{migrations_fingerprint()}"[:63]
    lock_path = Path(tempfile.gettempdir()) / f"{template}.lock"
    with lock_path.open("w") as lock, _server(settings) as server:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds it; the others wait, then copy it
        if not _exists(server, template):
            _build(server, settings, template, base)
        server.execute(f"DROP DATABASE IF EXISTS {_quote(test_name)} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {_quote(test_name)} TEMPLATE {_quote(template)}")
    return True


@contextlib.contextmanager
def _server(settings: dict):
    conninfo = {
        "host": settings.get("HOST") or "127.0.0.1",
        "port": settings.get("PORT") or 5432,
        "user": settings.get("USER") or "postgres",
        "password": settings.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v is not None}) as server:
        yield server


def _exists(server, name: str) -> bool:
    return server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _build(server, settings: dict, template: str, base: str) -> None:
    """Migrate a new database under a temporary name, then rename it: a run killed half-way leaves no
    half-migrated template. Templates of earlier migrations are dropped."""
    building = f"{template}_new"[:63]
    server.execute(f"DROP DATABASE IF EXISTS {_quote(building)} WITH (FORCE)")
    server.execute(f"CREATE DATABASE {_quote(building)}")
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    login = quote(settings.get("USER") or "postgres", safe="")
    if settings.get("PASSWORD"):
        login += ":" + quote(settings["PASSWORD"], safe="")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
        "DATABASE_URL": f"postgres://{login}@{host}:{port}/{building}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    for (stale,) in server.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s",
        [f"test_{base}_tpl_", building],
    ).fetchall():
        server.execute(f"DROP DATABASE IF EXISTS {_quote(stale)} WITH (FORCE)")
    server.execute(f"ALTER DATABASE {_quote(building)} RENAME TO {_quote(template)}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
