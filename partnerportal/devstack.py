"""The embedded local stack behind `make run` (`manage.py runstack`).

The simulator's demo customer is mirrored into our rows the way a real customer is connected (our row
names their account and role; their role trusts our External ID), then read back with the same
reconciliation production runs. The Celery worker, beat and web app run as supervised child processes,
each in its own session so the stack stops it together with its own children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.error import URLError
from urllib.request import urlopen

import redis
from django.conf import settings

from orchestration.services.accounts import account_access
from orchestration.services.reconcile import reconcile_region
from tenants.choices import AuthMode
from tenants.models import AwsAccount, Bundle, Customer, Directory

if TYPE_CHECKING:
    from simulator.control import SimulatorControl

# Credentials and profiles of a real AWS identity must not leak into a stack whose AWS is the simulator.
AWS_IDENTITY_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_REGION",
)


def demo_account_connect(
    *, simulator: SimulatorControl, customer: Customer, demo: dict[str, Any]
) -> AwsAccount:
    """Connect `customer` to a simulated demo account (an entry of `create_demo_world()["accounts"]`):
    our row names their account, role and region, and their role's trust policy names our External ID."""
    account, _ = AwsAccount.objects.update_or_create(
        account_id=demo["account_id"],
        defaults={
            "customer": customer,
            "auth_mode": AuthMode.ASSUME_ROLE,
            "role_arn": demo["role_arn"],
            "default_region": demo["region"],
        },
        create_defaults={
            "customer": customer,
            "auth_mode": AuthMode.ASSUME_ROLE,
            "role_arn": demo["role_arn"],
            "default_region": demo["region"],
            "regions": [demo["region"]],
            "byop_enabled": True,
        },
    )
    # The customer deploys our template: their role's trust policy now names our External ID.
    simulator.update_account(account.account_id, external_id=account.external_id)
    return account


@dataclass(frozen=True)
class DemoRows:
    """Our rows for the simulator's onboarded demo customer: what a first desktop needs."""

    aws_account: AwsAccount
    directory: Directory
    bundle: Bundle


def demo_customer_mirror(*, simulator: SimulatorControl, demo: dict[str, Any]) -> DemoRows:
    """Point the seeded demo customer (slug = the demo account's name) at its simulated account, then
    reconcile the region so its directory, image and bundle (and what became of earlier desktops, which
    a restarted simulator no longer has) are in our rows."""
    customer = Customer.objects.filter(slug=demo["name"]).first()
    if customer is None:
        raise LookupError(f"No customer {demo['name']!r}: run `manage.py seed_demo` first.")
    account = demo_account_connect(simulator=simulator, customer=customer, demo=demo)
    region = demo["region"]
    reconcile_region(aws_account=account, region=region, access=account_access(account, region=region))
    return DemoRows(
        aws_account=account,
        directory=Directory.objects.get(directory_id=demo["directory_id"]),
        bundle=Bundle.objects.get(bundle_id=demo["bundle_id"]),
    )


def stack_environment(*, simulator_url: str) -> dict[str, str]:
    """This process's environment with the simulator as AWS and the partner's dummy credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in AWS_IDENTITY_VARIABLES and not key.startswith("AWS_ENDPOINT_URL_")
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": simulator_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens there (connections lingering in TIME_WAIT do not count, as for a server)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def redis_answers(url: str) -> bool:
    """Whether a Redis answers PING at `url` within a second."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, ValueError):
        return False


def http_answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=2) as response:  # noqa: S310 (a local http URL we built)
            return response.status == 200
    except (URLError, OSError):
        return False


class ChildProcess:
    """A supervised child in its own session (Ctrl-C reaches only the supervisor, which stops it).

    With `log_path` its output is appended to that file, otherwise it goes to this terminal.
    """

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path | None = None):
        self.name, self.args, self.env, self.log_path = name, args, env, log_path
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    def start(self) -> ChildProcess:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
            self._log_start = self._log.tell()
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            self.args,
            cwd=settings.BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def log_text(self) -> str:
        """What this run wrote to the log (earlier runs' lines are before `_log_start`)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def signal_group(self, signum: int) -> bool:
        """Send `signum` to the child's whole process group; False when nothing is left in it."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


def stop_children(children: list[ChildProcess], timeout: float) -> None:
    """SIGTERM every child's group at once (a worker finishes its running tasks), wait, then SIGKILL what
    is left, including pool processes that outlived their master."""
    started = [(child, child.process) for child in children if child.process is not None]
    for child, _ in started:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for _, process in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.1, deadline - time.monotonic()))
    for child, process in started:
        child.signal_group(signal.SIGKILL)
        process.wait()
        child.close()
