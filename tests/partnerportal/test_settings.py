"""Settings: production refuses to start without its secrets and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from partnerportal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "partnerportal.settings.production",
    "DJANGO_SECRET_KEY": "test-deploy-only-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/partnerportal",
    "ALLOWED_HOSTS": "portal.example.com",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=",
    "PARTNER_AWS_ACCOUNT_ID": "210987654321",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base_env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))
    }
    for name in ("ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS", "PARTNER_AWS_ACCOUNT_ID", "STATIC_ROOT"):
        base_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS", "PARTNER_AWS_ACCOUNT_ID"],
)
@pytest.mark.slow
def test_production_fails_loudly_without_each_secret(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert f"Production needs the environment variable {missing}" in result.stderr


@pytest.mark.slow
def test_production_refuses_a_partner_account_that_is_not_an_account_id():
    result = _manage("check", env={**PRODUCTION_ENV, "PARTNER_AWS_ACCOUNT_ID": "my-partner"})
    assert result.returncode != 0
    assert "PARTNER_AWS_ACCOUNT_ID must be a 12-digit AWS account id" in result.stderr


@pytest.mark.slow
def test_production_collects_static_files_where_the_image_says(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "static")}
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.STATIC_ROOT)", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "static")


@pytest.mark.slow
def test_production_requires_two_factor_for_staff_and_development_does_not():
    show = "from django.conf import settings; print(settings.OTP_REQUIRED_FOR_STAFF)"
    production = _manage("shell", "-c", show, env=PRODUCTION_ENV)
    assert production.stdout.strip().splitlines()[-1] == "True", production.stderr
    development = _manage(
        "shell", "-c", show, env={"DJANGO_SETTINGS_MODULE": "partnerportal.settings.development"}
    )
    assert development.stdout.strip().splitlines()[-1] == "False", development.stderr


@pytest.mark.slow
def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_celery_is_configured_for_at_least_once_delivery_that_survives_crashes():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert (
        conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit > conf.task_soft_time_limit
    )
    assert {queue.name for queue in conf.task_queues} == {"interactive", "bulk", "poll", "periodic"}
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
