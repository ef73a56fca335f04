"""docker-compose.yml (production) and docker-compose.demo.yml: structure, wiring and refusals.

`make image-check` runs these services from the image's install; these tests read the files alone.
"""

import re
from pathlib import Path

import pytest
import yaml

from partnerportal.settings import base
from tests.image.compose import EVERY_INTERFACE, load, missing_variables, service_environment

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "docker-compose.yml"
DEMO = ROOT / "docker-compose.demo.yml"
COMPOSE = yaml.safe_load(PRODUCTION.read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "worker-interactive", "beat", "flower"]
# What production cannot start without: secrets, the host names, and the AWS settings.
REQUIRED = {
    "DJANGO_SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "POSTGRES_PASSWORD",
    "ALLOWED_HOSTS",
    "FLOWER_BASIC_AUTH",
    "AWS_DEFAULT_REGION",
    "PARTNER_AWS_ACCOUNT_ID",
}
SETTINGS = {name: f"value-of-{name.lower()}" for name in REQUIRED} | {
    "PARTNER_AWS_ACCOUNT_ID": "210987654321"
}


def test_every_part_of_the_stack_is_a_service():
    assert {"web", "worker", "beat", "redis", "postgres", "flower", "migrate"} <= set(SERVICES)
    assert {"simulator"} <= set(load([PRODUCTION, DEMO], SETTINGS)["services"])


def test_commands_run_what_each_service_is_for():
    assert SERVICES["web"]["command"][0] == "gunicorn"
    assert "partnerportal.wsgi:application" in SERVICES["web"]["command"]
    worker = SERVICES["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "partnerportal", "worker"]
    assert set(worker[worker.index("-Q") + 1].split(",")) == {"interactive", "bulk", "poll", "periodic"}
    # Clicks have a process of their own too, which no bulk work can occupy.
    clicks = SERVICES["worker-interactive"]["command"]
    assert clicks[:4] == ["celery", "-A", "partnerportal", "worker"]
    assert clicks[clicks.index("-Q") + 1] == "interactive"
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "partnerportal", "beat"]
    assert "flower" in SERVICES["flower"]["command"]
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


def test_app_services_are_wired_to_the_database_and_broker_and_aws_is_the_real_one():
    for name in [*APP_SERVICES, "migrate"]:
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "partnerportal.settings.production"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert "AWS_ENDPOINT_URL" not in env
        # Secrets and AWS settings have no default in the file: compose refuses to start without them.
        for secret in (
            "DJANGO_SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "AWS_DEFAULT_REGION",
            "PARTNER_AWS_ACCOUNT_ID",
        ):
            assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret])
        # No dummy keys: without keys, boto3 takes the host's role.
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert env[key] == "${" + key + ":-}"


@pytest.mark.parametrize(
    "name", ["AWS_RATE_LIMIT_PER_SECOND", "AWS_RATE_LIMIT_BURST", "AWS_RATE_LIMIT_DELIVERY_WAIT"]
)
def test_the_rate_limiter_can_be_set_per_deployment_and_defaults_to_the_settings_own(name):
    """The limiter is the partner's AWS quota: each app service takes it from the environment, and left
    unset it is what the settings would have chosen (a changed default changes both)."""
    for service in [*APP_SERVICES, "migrate"]:
        value = SERVICES[service]["environment"][name]
        default = re.fullmatch(r"\$\{" + name + r":-([^}]+)\}", value)
        assert default is not None, (service, value)
        assert type(getattr(base, name))(default.group(1)) == getattr(base, name)


def test_production_requires_every_secret_and_aws_setting_and_names_each_one():
    assert {item.name for item in missing_variables([PRODUCTION], {})} == REQUIRED
    for name in sorted(REQUIRED):
        missing = missing_variables([PRODUCTION], {k: v for k, v in SETTINGS.items() if k != name})
        assert {item.name for item in missing} == {name}
        assert all(name in item.message for item in missing), missing
    assert missing_variables([PRODUCTION], SETTINGS) == []


@pytest.mark.parametrize("empty", sorted(REQUIRED))
def test_an_empty_setting_is_refused_like_a_missing_one(empty):
    assert {item.name for item in missing_variables([PRODUCTION], {**SETTINGS, empty: ""})} == {empty}


def test_the_simulator_and_dummy_keys_are_only_in_the_demo_file():
    assert "simulator" not in SERVICES
    assert "testing" not in PRODUCTION.read_text()
    demo = load([PRODUCTION, DEMO], SETTINGS)["services"]
    assert demo["simulator"]["command"][:3] == ["python", "-m", "simulator"]
    for name in [*APP_SERVICES, "migrate"]:
        env = service_environment(demo[name])
        assert env["AWS_ENDPOINT_URL"] == "http://simulator:5000"
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
        # The demo adds to production's settings; it does not drop them.
        assert env["DJANGO_SECRET_KEY"] == SETTINGS["DJANGO_SECRET_KEY"]
        assert env["DJANGO_SETTINGS_MODULE"] == "partnerportal.settings.production"


def test_flower_needs_a_password_and_no_other_service_gets_it():
    flower = SERVICES["flower"]
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", flower["environment"]["FLOWER_BASIC_AUTH"])
    # Its environment is the app's plus the password, so it reaches the same broker and settings.
    assert {k: v for k, v in flower["environment"].items() if k != "FLOWER_BASIC_AUTH"} == SERVICES["web"][
        "environment"
    ]
    for name, service in SERVICES.items():
        if name != "flower":
            assert "FLOWER_BASIC_AUTH" not in (service.get("environment") or {}), name
    assert "--basic-auth" not in " ".join(flower["command"])  # not on a command line that `ps` shows


def test_servers_listen_on_every_interface_of_their_container_on_the_published_port():
    demo = load([PRODUCTION, DEMO], SETTINGS)["services"]
    for name, service in demo.items():
        if "build" not in service:
            continue
        for port in service.get("ports", []):
            container_port = port.rsplit(":", 1)[-1]
            command = " ".join(service["command"])
            assert EVERY_INTERFACE in command, name
            assert re.search(rf"[ :=]{container_port}\b", command), name


def test_dependencies_name_real_services_and_wait_for_migrations():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
    for name in APP_SERVICES:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_ports_are_published_on_loopback_only():
    for service in load([PRODUCTION, DEMO], SETTINGS)["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:")
