"""docker-compose.yml cannot be run here (no engine), so its structure and wiring are checked instead."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat", "flower"]


def test_every_part_of_the_stack_is_a_service():
    assert {"web", "worker", "beat", "redis", "postgres", "simulator", "flower", "migrate"} <= set(SERVICES)


def test_commands_run_what_each_service_is_for():
    assert SERVICES["web"]["command"][0] == "gunicorn"
    assert "partnerportal.wsgi:application" in SERVICES["web"]["command"]
    worker = SERVICES["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "partnerportal", "worker"]
    assert set(worker[worker.index("-Q") + 1].split(",")) == {"interactive", "bulk", "poll", "periodic"}
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "partnerportal", "beat"]
    assert "flower" in SERVICES["flower"]["command"]
    assert SERVICES["simulator"]["command"][:3] == ["python", "-m", "simulator"]
    assert SERVICES["migrate"]["command"] == [
        "sh",
        "-c",
        "python manage.py migrate --noinput && python manage.py schedules_install",
    ]


def test_exactly_one_beat():
    assert SERVICES["beat"]["deploy"]["replicas"] == 1
    assert sum("beat" in " ".join(service.get("command", [])) for service in SERVICES.values()) == 1


def test_redis_keeps_queued_work_and_never_evicts_it():
    command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_app_services_are_wired_to_the_database_broker_and_simulator():
    for name in [*APP_SERVICES, "migrate"]:
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "partnerportal.settings.production"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert "simulator:5000" in env["AWS_ENDPOINT_URL"]
        # Secrets have no default in the file: compose refuses to start without them.
        for secret in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS"):
            assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret])


def test_dependencies_name_real_services_and_wait_for_migrations():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
    for name in APP_SERVICES:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_ports_are_published_on_loopback_only():
    for service in SERVICES.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:")
