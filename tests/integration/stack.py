"""Real processes for integration and fault tests: a Redis, a Celery worker and a beat, on free ports.

Each test gets its own Redis (so flushing or restarting it disturbs nothing else on the machine), a
worker pointed at the pytest database and the simulator, and a beat that runs the sweeper every second.
"""

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "interactive,bulk,poll,periodic"


# For tests that kill a worker: its heartbeat stops and the sweeper frees its items within seconds; a
# short lease is the backstop for a process that never beat. Time limits do not follow the lease.
SHORT_LEASE = {"JOB_ITEM_LEASE_SECONDS": "12"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class RedisProcess:
    """A throwaway redis-server on a free port; nothing is kept on disk."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, "redis-server")
        return self

    def _answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False
        )
        return result.stdout.strip() == "PONG"

    def restart(self) -> None:
        """Kill and start again on the same port: every queued and unacknowledged message is gone."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class ForkedProcess:
    """What a test needs of `subprocess.Popen` (poll, wait, pid) for a process the preloader forked.

    It is not this process's child, so it is watched through a pidfd; the preloader's kernel reaps it, so
    there is no exit status to read (`returncode` is -1 once it is gone)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        return self._wait(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._wait(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        return code

    def _wait(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            readable, _, _ = select.select([self._pidfd], [], [], timeout)
            if readable:
                self.returncode = -1
                os.close(self._pidfd)
        return self.returncode


class PreloadedStarter:
    """Starts `python -m celery …` commands as forks of one process that imported the libraries once
    (tests/integration/preload.py): a worker is up in a fraction of a fresh interpreter's time."""

    def __init__(self, workdir: Path):
        self.socket_path = str(workdir / "preload.sock")
        self.log_path = workdir / "preload.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PreloadedStarter":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.preload", self.socket_path],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: "preload ready" in self.log_path.read_text(), 60, "the preloading process")
        return self

    def spawn(self, argv: list[str], env: dict[str, str], log_path: Path) -> ForkedProcess:
        request = {"argv": argv, "env": env, "cwd": str(ROOT), "log": str(log_path)}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket_path)
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(conn.makefile("r").readline())
        return ForkedProcess(answer["pid"])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class CeleryProcess:
    """`celery worker` or `celery beat` as a child process, logging to a file the test can read.

    With a `starter`, the process is a fork of its preloaded process instead of a fresh interpreter; it
    behaves the same (its own session, environment, log), it only starts sooner."""

    def __init__(
        self,
        kind: str,
        env: dict[str, str],
        workdir: Path,
        name: str,
        concurrency: int = 2,
        queues: str = QUEUES,
        node: str | None = None,
        extra_args: tuple[str, ...] = (),
        starter: PreloadedStarter | None = None,
    ):
        self.kind, self.env, self.workdir, self.name = kind, env, workdir, name
        self.concurrency, self.queues = concurrency, queues
        # A worker's node name (`-n`), e.g. "w1@hostA" to stand for a machine of its own; by default the
        # name and start count at this host.
        self.node, self.extra_args = node, extra_args
        self.starter = starter
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | ForkedProcess | None = None
        self.starts = 0

    def start(self) -> "CeleryProcess":
        self.starts += 1
        args = [sys.executable, "-m", "celery", "-A", "partnerportal"]
        if self.kind == "worker":
            args += [
                "worker",
                "-Q",
                self.queues,
                "--concurrency",
                str(self.concurrency),
                "--pool",
                "prefork",
                "-n",
                self._node_name(),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                *self.extra_args,
            ]
        else:
            args += [
                "beat",
                "-S",
                "celery.beat:PersistentScheduler",
                "-s",
                str(self.workdir / f"{self.name}-schedule"),
                "--loglevel",
                "INFO",
            ]
        if self.starter is not None:
            self.process = self.starter.spawn(args, self.env, self.log_path)
        else:
            with self.log_path.open("a") as log:
                self.process = subprocess.Popen(
                    args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        if self.kind == "worker":
            marker = self._node_name().split("@")[0] + "@"
            wait_until(
                lambda: marker in self.log() and " ready." in self.log().split(marker, 1)[-1],
                60,
                f"celery worker {self.name}",
            )
        return self

    def _node_name(self) -> str:
        return self.node or f"{self.name}-{self.starts}@%h"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def child_pids(self) -> list[int]:
        if not self.process:
            return []
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split()]

    def kill_children(self) -> int:
        """SIGKILL the pool processes (the master stays and forks new ones); returns how many died."""
        pids = self.child_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def kill(self) -> None:
        """SIGKILL the whole worker, master and children: nothing acks, nothing cleans up."""
        if self.process:
            with contextlib.suppress(ProcessLookupError):  # the group may outlive its leader
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def celery_publish_to(broker_url: str) -> None:
    """Send this process's messages (jobs started by the test) to the given Redis, not the default.

    Celery reads CELERY_BROKER_URL from the environment before its own configuration, so both change.
    It caches its connection and producer pools; dropping its references makes the next send build them
    for the new URL. The pools themselves are kombu's, shared per URL, so they are not closed.
    """
    # Imported here: bench/ imports this module before Django is set up.
    from partnerportal.celery import app as celery_app

    os.environ["CELERY_BROKER_URL"] = broker_url
    celery_app.conf.broker_url = broker_url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def stack_environment(
    *,
    database_url: str,
    broker_url: str,
    aws_endpoint: str,
    workdir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of every process in a stack: test settings, short leases, a fast sweeper."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ORCHESTRATION_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            # Leases, heartbeats, polls and the sweeper on a test's time scale; the logic is the production
            # logic. A worker process silent for 3 s is dead (a loaded machine still beats every 0.5 s).
            "JOB_ITEM_LEASE_SECONDS": "30",
            "JOB_WORKER_HEARTBEAT_SECONDS": "0.5",
            "JOB_WORKER_STALE_SECONDS": "3",
            "JOB_POLL_INTERVAL_SECONDS": "0.5",
            "JOB_LOST_MESSAGE_SECONDS": "4",
            "JOBS_SWEEP_INTERVAL_SECONDS": "1",
            # The stack's beat is file-based, so it takes the standard schedule from the settings.
            "BEAT_SCHEDULE_FROM_SETTINGS": "true",
            "AWS_BACKOFF_BASE": "0.05",
            "AWS_BACKOFF_MAX": "0.5",
            "AWS_RATE_LIMIT_PER_SECOND": "200",
            "AWS_RATE_LIMIT_BURST": "50",
            "ORCHESTRATION_FAILPOINT_DIR": str(workdir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env
