"""Fixtures for tests that run the real machinery: Redis, a Celery worker, beat, PostgreSQL, the simulator."""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from orchestration.choices import JOB_TERMINAL_STATUSES
from orchestration.models import Job
from orchestration.selectors import job_progress
from partnerportal.celery import app as celery_app
from tests.integration.stack import (
    CeleryProcess,
    PreloadedStarter,
    RedisProcess,
    celery_publish_to,
    stack_environment,
)
from tests.integration.world import aws_runs_fast, onboard_demo_customer

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    """The running processes of one test, and how to reach them."""

    redis: RedisProcess
    env: dict[str, str]
    workdir: Path
    worker: CeleryProcess | None = None
    beat: CeleryProcess | None = None
    extra_processes: list[CeleryProcess] = field(default_factory=list)
    restarts: int = 0
    starter: PreloadedStarter | None = None

    def start(self, *, beat: bool = True) -> "Stack":
        if beat:  # first: it boots while the worker does, and its messages wait in Redis for the worker
            self.beat = self.process("beat", "beat").start()
        self.worker = self.process("worker", "worker").start()
        return self

    def process(self, kind: str, name: str, **options) -> CeleryProcess:
        """A worker or beat of this stack (not started), forked from the preloaded process."""
        return CeleryProcess(kind, self.env, self.workdir, name, starter=self.starter, **options)

    def add_beat(self, name: str) -> CeleryProcess:
        """A second (third…) beat, as a careless deployment would run: schedules must still run once."""
        beat = self.process("beat", name).start()
        self.extra_processes.append(beat)
        return beat

    def stop(self) -> None:
        """Warm shutdown, as a deployment stops: running tasks finish first."""
        for process in [self.beat, self.worker, *self.extra_processes]:
            if process:
                process.stop()
        self.redis.stop()

    def discard(self) -> None:
        """After the test: SIGKILL everything at once; a warm shutdown would only wait for tasks no one
        will look at (up to 15 s a process)."""
        for process in [self.beat, self.worker, *self.extra_processes]:
            if process:
                process.kill()
        self.redis.stop()

    def supervise(self) -> int:
        """Restart a worker or beat that exited, as compose's `restart: unless-stopped` would.

        kombu can crash a worker while it reconnects to a restarted Redis; production relies on the
        process supervisor for that, and so do these tests. Returns how many processes were restarted.
        """
        restarted = 0
        for process in [self.worker, self.beat]:
            if process and process.process and process.process.poll() is not None:
                process.start()
                restarted += 1
        self.restarts += restarted
        return restarted

    def logs(self) -> str:
        return "\n".join(p.log()[-4000:] for p in [self.worker, self.beat] if p)


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def preloaded_starter(tmp_path_factory) -> Iterator[PreloadedStarter]:
    """One preloading process per test process: every stack's worker and beat are forks of it."""
    starter = PreloadedStarter(tmp_path_factory.mktemp("preload")).start()
    yield starter
    starter.stop()


@pytest.fixture
def stack_factory(transactional_db, simulator, tmp_path, preloaded_starter):
    """Build a stack with extra environment (failpoints, settings); stopped when the test ends."""
    stacks: list[Stack] = []

    def build(extra: dict[str, str] | None = None) -> Stack:
        redis = RedisProcess(tmp_path).start()
        env = stack_environment(
            database_url=_test_database_url(),
            broker_url=redis.url,
            aws_endpoint=simulator.endpoint_url,
            workdir=tmp_path,
            extra=extra,
        )
        stack = Stack(redis=redis, env=env, workdir=tmp_path, starter=preloaded_starter)
        stacks.append(stack)
        celery_publish_to(redis.url)
        return stack

    original_broker = celery_app.conf.broker_url
    yield build
    celery_publish_to(original_broker)
    for stack in stacks:
        stack.discard()


@pytest.fixture
def customer_account(transactional_db, simulator):
    """An onboarded customer (see tests.integration.world), with provisioning sped up for the test."""
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    aws_runs_fast(simulator)  # 20 simulated minutes of provisioning pass in 2 seconds
    simulator.clear_calls()
    return world


def wait_for_job(job: Job, stack: Stack, timeout: float = 120) -> Job:
    """Wait until the job is finished, from its rows; fail with its progress and the logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in JOB_TERMINAL_STATUSES:
            return job
        stack.supervise()
        time.sleep(0.25)
    raise AssertionError(
        f"job {job.pk} is {job.status} after {timeout}s: {job_progress(job=job)}\n{stack.logs()}"
    )
