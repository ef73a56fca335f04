"""`make run` (`manage.py runstack`): the whole local stack in one command, and stopped without leftovers.

The integration tests start `manage.py runstack` as a subprocess, as `make run` does, against a SQLite
database of their own and a throwaway Redis, on free ports.
"""

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.management import call_command, load_command_class

from orchestration.choices import JOB_TERMINAL_STATUSES
from partnerportal.devstack import demo_customer_mirror, port_is_free
from simulator.control import SimulatorControl
from tenants.models import AwsAccount, Bundle, Directory, Image
from tests.conftest import SQLITE_GROUP
from tests.integration.stack import RedisProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-partner-portal"
ACME = "111111111111"


# ------------------------------------------------------------------------ the demo customer mirror
@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", password=PASSWORD)


def test_the_seeded_customer_is_connected_to_the_simulators_demo_account(seeded, simulator):
    demo = simulator.create_demo_world(ready=True)["accounts"][0]
    simulator.clear_calls()

    rows = demo_customer_mirror(simulator=simulator, demo=demo)

    account = rows.aws_account
    assert (account.customer.slug, account.account_id, account.role_arn) == ("acme", ACME, demo["role_arn"])
    assert simulator.account(ACME)["external_id"] == account.external_id
    assert (rows.directory.directory_id, rows.directory.state, rows.directory.tenancy) == (
        demo["directory_id"],
        "REGISTERED",
        "DEDICATED",
    )
    assert rows.bundle.bundle_id == demo["bundle_id"]
    assert (rows.bundle.image.image_id, rows.bundle.image.state) == (demo["image_id"], "AVAILABLE")
    assert rows.bundle.tags == {"PartnerManaged": "true"}
    # AssumeRole with our External ID was accepted, and nothing was refused.
    assert simulator.call_counts()["sts:AssumeRole"] == 1
    assert [call for call in simulator.calls() if call.get("error_code")] == []


@pytest.mark.slow
def test_a_second_run_against_a_fresh_simulator_keeps_one_row_of_each(seeded, simulator):
    demo_customer_mirror(simulator=simulator, demo=simulator.create_demo_world(ready=True)["accounts"][0])
    simulator.reset(seed=0, time_scale=0)  # what a restarted `make run` finds: a new simulator, same ids
    demo = simulator.create_demo_world(ready=True)["accounts"][0]

    rows = demo_customer_mirror(simulator=simulator, demo=demo)

    counts = [model.objects.count() for model in (AwsAccount, Directory, Image, Bundle)]
    assert counts == [1, 1, 1, 1]
    assert simulator.account(ACME)["external_id"] == rows.aws_account.external_id


def test_without_the_seeded_customer_it_says_to_seed_and_calls_nothing(db, simulator):
    demo = simulator.create_demo_world(ready=True)["accounts"][0]
    simulator.clear_calls()
    with pytest.raises(LookupError, match="seed_demo"):
        demo_customer_mirror(simulator=simulator, demo=demo)
    assert simulator.calls() == []


# ------------------------------------------------------------------------------- the whole stack
def test_make_run_runs_the_simulator_at_60x_so_a_desktop_provisions_in_20_seconds():
    command = load_command_class("partnerportal", "runstack")
    assert command.create_parser("manage.py", "runstack").get_default("time_scale") == 60


def _environment(database: Path, broker_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_", "AWS_", "JOB", "DEMO_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "partnerportal.settings.development",
            "DATABASE_URL": f"sqlite:///{database}",
            "CELERY_BROKER_URL": broker_url,
            # Polls every second instead of 15 so the test is short; the logic is the production logic.
            "JOB_POLL_INTERVAL_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="session")  # not module: the suite's sort by timeout separates this module's tests
def seeded_sqlite(tmp_path_factory, migrated_sqlite) -> Path:
    """A SQLite database prepared as `make run` prepares it; each test works on a copy."""
    database = tmp_path_factory.mktemp("runstack") / "template.sqlite3"
    shutil.copyfile(migrated_sqlite, database)
    env = _environment(database, "redis://127.0.0.1:1/0")
    for command in (["migrate", "--noinput"], ["schedules_install"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=300)
    return database


class RunStack:
    """`manage.py runstack` as a subprocess on free ports, its output in a file of its own."""

    def __init__(self, workdir: Path, database: Path, broker_url: str, *options: str):
        self.database, self.options = database, options
        self.web_port, self.simulator_port = free_port(), free_port()
        workdir.mkdir(exist_ok=True)
        self.output_path = workdir / "runstack.out"
        self.log_dir = workdir / "log"
        self.env = _environment(database, broker_url)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def simulator(self) -> SimulatorControl:
        return SimulatorControl(f"http://127.0.0.1:{self.simulator_port}")

    def start(self) -> "RunStack":
        ports = ["--port", str(self.web_port), "--simulator-port", str(self.simulator_port)]
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "runstack",
                    *ports,
                    "--log-dir",
                    str(self.log_dir),
                    *self.options,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._up, 180, "runstack to be up", interval=0.5)
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"runstack exited with {self.process.returncode}:\n{self.output()}")
        return "is up" in self.output()

    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    def worker_log(self) -> str:
        path = self.log_dir / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def descendants(self) -> list[int]:
        found, parents = [], [self.process.pid]
        while parents:
            result = subprocess.run(
                ["pgrep", "-P", ",".join(map(str, parents))], capture_output=True, text=True, check=False
            )
            parents = [int(pid) for pid in result.stdout.split()]
            found += parents
        return found

    def stop_and_check_nothing_is_left(self) -> None:
        children = self.descendants()
        assert children, "runstack started no child process"
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(60) == 0, self.output()
        assert "Stopped:" in self.output()
        assert [(pid, _command_line(pid)) for pid in children if _running(pid)] == []
        assert port_is_free("127.0.0.1", self.web_port) and port_is_free("127.0.0.1", self.simulator_port)

    def kill_everything(self) -> None:
        """After a failed test: nothing of this stack may outlive it."""
        for pid in [*self.descendants(), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead child its parent has not reaped yet is gone for our purpose)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except FileNotFoundError:
        return ""


def _admin_session(stack: RunStack) -> requests.Session:
    session = requests.Session()

    def login_page_answers() -> bool:
        # The web app's reloader restarts it when a source file changes (as it does for a developer).
        try:
            return session.get(f"{stack.url}/admin/login/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(login_page_answers, 30, "the admin")
    response = session.post(
        f"{stack.url}/admin/login/",
        data={
            "username": "ops",
            "password": PASSWORD,
            "next": "/admin/",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/admin/")
    assert "Log out" in session.get(f"{stack.url}/admin/", timeout=30).text
    return session


def _first_option(page: str, field: str) -> str:
    match = re.search(rf'name="{field}"[^>]*>.*?<option value="(\d+)"', page, re.S)
    assert match, f"no choice for {field} on the create form"
    return match.group(1)


def _query(database: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20) as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture
def redis_server(tmp_path):
    redis = RedisProcess(tmp_path).start()
    yield redis
    redis.stop()


def _create_two_desktops_in_the_admin(stack: RunStack) -> int:
    """Log in as ops and submit Desktops > Create desktops for 2 desktops; returns the job id."""
    session = _admin_session(stack)
    form_url = f"{stack.url}/admin/tenants/desktop/create/"
    page = session.get(form_url, timeout=30).text
    response = session.post(
        form_url,
        data={
            "customer": _first_option(page, "customer"),
            "aws_account": _first_option(page, "aws_account"),
            "directory": _first_option(page, "directory"),
            "bundle": _first_option(page, "bundle"),
            "running_mode": "MANUAL",
            "count": "2",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:2000]
    return int(re.search(r"/orchestration/job/(\d+)/", response.headers["Location"]).group(1))


def _desktops(database: Path) -> list[tuple]:
    """(workspace id, state, directory id, bundle id, missing from AWS) of every desktop, oldest first."""
    return _query(
        database,
        "SELECT d.workspace_id, d.state, r.directory_id, b.bundle_id, d.missing_from_aws_since IS NOT NULL "
        "FROM tenants_desktop d JOIN tenants_directory r ON r.id = d.directory_id "
        "JOIN tenants_bundle b ON b.id = d.bundle_id ORDER BY d.id",
    )


def _assert_available_in_the_simulator(stack: RunStack, workspace_ids: list[str]) -> None:
    for workspace_id in workspace_ids:
        reported = stack.simulator.workspace(workspace_id)
        assert (reported["AccountId"], reported["State"]) == (ACME, "AVAILABLE")
        assert reported["Tags"] == {"PartnerManaged": "true"}
    created = stack.simulator.requests("CreateWorkspaces", account_id=ACME)
    assert sum(len(request["Workspaces"]) for request in created) == len(workspace_ids)


@pytest.mark.integration
@pytest.mark.xdist_group(SQLITE_GROUP)  # one xdist worker migrates SQLite for these and test_audit
def test_make_run_runs_what_staff_ask_for_in_the_simulator_and_stops_clean_twice(
    seeded_sqlite, redis_server, tmp_path
):
    database = tmp_path / "partnerportal.sqlite3"
    shutil.copy(seeded_sqlite, database)

    # First run, as `make run` starts it (but time at 600x, not 60x: see the test below): staff create
    # 2 desktops in the admin.
    stack = RunStack(tmp_path / "first", database, redis_server.url, "--time-scale", "600").start()
    try:
        banner = stack.output()
        assert f"Web app:    {stack.url}/admin/" in banner
        assert f"Simulator:  http://127.0.0.1:{stack.simulator_port}" in banner
        assert f"ops / {PASSWORD}" in banner and f"acme-admin / {PASSWORD}" in banner
        assert "Celery worker + beat" in banner
        command_lines = [_command_line(pid) for pid in stack.descendants()]
        assert sum(line.count(" beat ") for line in command_lines) == 1
        assert any(" worker " in line for line in command_lines)
        assert any("runserver" in line for line in command_lines)

        job_id = _create_two_desktops_in_the_admin(stack)
        # 20 simulated minutes of provisioning take 2 s at this time scale.
        wait_until(
            lambda: (
                _query(database, "SELECT status FROM orchestration_job WHERE id = ?", job_id)[0][0]
                in JOB_TERMINAL_STATUSES
            ),
            180,
            f"job {job_id}:\n{stack.worker_log()[-4000:]}",
            interval=1,
        )
        first = _desktops(database)
        assert [(state, missing) for _, state, _, _, missing in first] == [("AVAILABLE", 0)] * 2
        # The ids the banner offers are the ones the form created the desktops in.
        offered = re.search(r"directory (d-\S+), bundle (wsb-\S+)", banner).groups()
        assert {(directory, bundle) for _, _, directory, bundle, _ in first} == {offered}
        _assert_available_in_the_simulator(stack, [workspace_id for workspace_id, *_ in first])
    except BaseException:
        stack.kill_everything()
        raise
    stack.stop_and_check_nothing_is_left()
    assert "database is locked" not in stack.worker_log()

    # Second run on the same database, faster clock: the printed command creates 2 more; the simulator
    # is new, so the first 2 are missing from AWS, and no WorkSpace id repeats an earlier run's.
    stack = RunStack(tmp_path / "second", database, redis_server.url, "--time-scale", "600").start()
    try:
        command = re.search(r"Try:\s+\S+ manage.py (desktops_create .*--wait)", stack.output()).group(1)
        created = subprocess.run(
            [sys.executable, "manage.py", *command.split(), "--poll-seconds", "1"],
            cwd=ROOT,
            env=stack.env,  # a second terminal: no AWS settings; the worker does the AWS calls
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        assert "SUCCEEDED: 2 available" in created.stdout
        both = _desktops(database)
        assert [(state, missing) for _, state, _, _, missing in both] == [("AVAILABLE", 1)] * 2 + [
            ("AVAILABLE", 0)
        ] * 2
        assert len({workspace_id for workspace_id, *_ in both}) == 4
        _assert_available_in_the_simulator(stack, [workspace_id for workspace_id, *_ in both[2:]])
    except BaseException:
        stack.kill_everything()
        raise
    stack.stop_and_check_nothing_is_left()


@pytest.mark.integration
@pytest.mark.xdist_group(SQLITE_GROUP)  # one xdist worker migrates SQLite for these and test_audit
def test_without_redis_it_says_how_to_start_it_and_runs_the_web_app_alone(seeded_sqlite, tmp_path):
    database = tmp_path / "partnerportal.sqlite3"
    shutil.copy(seeded_sqlite, database)
    stack = RunStack(tmp_path / "stack", database, f"redis://127.0.0.1:{free_port()}/0").start()
    try:
        output = stack.output()
        assert "Redis does not answer" in output
        assert "redis-server" in output
        assert "The admin works" in output
        _admin_session(stack)
        command_lines = [_command_line(pid) for pid in stack.descendants()]
        assert not any("celery" in line for line in command_lines)
        assert any("runserver" in line for line in command_lines)
    except BaseException:
        stack.kill_everything()
        raise
    stack.stop_and_check_nothing_is_left()
    assert not stack.log_dir.exists()
