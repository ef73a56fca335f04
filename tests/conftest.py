"""Fixtures shared by every test package, and what keeps parallel test processes apart.

`make test` runs the suite in several pytest-xdist workers at once. Each worker has its own database
(pytest-django adds the `_gwN` suffix), its own Redis (below), its own simulator (a session fixture on a
free port) and its own ports for everything it starts; nothing is shared but the PostgreSQL server.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db.backends.signals import connection_created

from tests.db_template import copy_test_database_from_template
from tests.factories import StaffUserFactory
from tests.integration.stack import RedisProcess, celery_publish_to

# The simulator's fixtures (simulator, simulator_server, demo_world) for every test package.
pytest_plugins = ["simulator.pytest_plugin"]

REDIS_SETTINGS = ("CELERY_BROKER_URL", "AWS_RATE_LIMIT_REDIS_URL")
# The limiter runs on every call, as in production, at the integration stack's rate: at the production
# default (5 a second per account) the tests' calls to the one demo account spent seconds asleep.
TEST_RATE_LIMIT = {"AWS_RATE_LIMIT_PER_SECOND": 200, "AWS_RATE_LIMIT_BURST": 50}
# pyproject.toml's `timeout` (60 s) is for unit tests; a test that starts a worker and waits for jobs
# gets this, unless it says more itself. Each is above the waits inside the tests (wait_for_job: 120 s),
# so a slow job fails with its progress and logs rather than a bare timeout.
INTEGRATION_TIMEOUT = 300


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    default_timeout = float(config.getini("timeout") or 0)
    for item in items:
        if item.get_closest_marker("integration") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(INTEGRATION_TIMEOUT))
        # A unit test that allows itself more than the unit default, or serves pages on a live server,
        # is not for `make test-fast` (which must stay under a minute); `make test` runs it.
        if _timeout_of(item, default_timeout) > default_timeout or "live_server" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.slow)
    # Longest first (by the time a test allows itself), so parallel workers do not end waiting on one
    # long test that started last; the sort is stable and the same in every xdist worker.
    default = float(config.getini("timeout") or 0)
    items.sort(key=lambda item: -_timeout_of(item, default))


def _timeout_of(item: pytest.Item, default: float) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return default
    return float(marker.args[0] if marker.args else marker.kwargs.get("timeout", default))


def _let_the_test_flush_empty_the_audit_log(sender, connection, **kwargs) -> None:
    """Transactional tests end with one TRUNCATE of every table; the audit log's trigger refuses a
    TRUNCATE unless the session says it is this flush (orchestration migration 0010)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET partnerportal.audit_truncate = 'test-flush'")


connection_created.connect(_let_the_test_flush_empty_the_audit_log)


@pytest.fixture(scope="session")
def django_db_keepdb(request: pytest.FixtureRequest, django_db_modify_db_settings, django_db_blocker) -> bool:
    """pytest-django's choice, except that a run that would migrate a new test database copies it from
    the migrated template instead (tests/db_template.py) and has Django keep that copy. `--reuse-db`
    keeps the old one; `--create-db` asks for Django's own fresh database."""
    if request.config.getvalue("reuse_db"):
        return True
    if request.config.getvalue("create_db"):
        return False
    with django_db_blocker.unblock():
        return copy_test_database_from_template()


@pytest.fixture(scope="session", autouse=True)
def test_process_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A redis-server of this test process's own: the broker its jobs are published to and the rate
    limiter's buckets. Two workers sharing one would drain each other's queues and spend each other's
    tokens for the same demo account."""
    redis = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    before = {name: getattr(settings, name) for name in (*REDIS_SETTINGS, *TEST_RATE_LIMIT)}
    environ_before = {name: os.environ.get(name) for name in REDIS_SETTINGS}
    for name in REDIS_SETTINGS:
        setattr(settings, name, redis.url)
    for name, value in TEST_RATE_LIMIT.items():
        setattr(settings, name, value)
    os.environ["AWS_RATE_LIMIT_REDIS_URL"] = redis.url  # and every process a test starts
    celery_publish_to(redis.url)
    try:
        yield redis
    finally:
        for name, value in before.items():
            setattr(settings, name, value)
        celery_publish_to(before["CELERY_BROKER_URL"])
        for name, value in environ_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        redis.stop()


# Tests that need `make run`'s SQLite database share one xdist worker, so it is migrated once a run.
SQLITE_GROUP = "sqlite-database"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated as `make run` migrates it (a subprocess, the development settings); tests
    copy it rather than change it."""
    database = tmp_path_factory.mktemp("sqlite") / "migrated.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerportal.settings.development",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        check=True,
        timeout=300,
    )
    return database


@pytest.fixture
def staff_user(db):
    return StaffUserFactory(username="staff")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
