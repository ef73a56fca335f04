"""`manage.py runstack`: the whole local stack in one command (what `make run` starts).

The WorkSpaces Core simulator runs in this process as AWS, with its demo customers onboarded; the seeded
demo customer is pointed at the simulator's acme account. When Redis answers, a Celery worker and one
beat run as child processes (logs under var/log/); the web app runs in the foreground. Ctrl-C or SIGTERM
stops every child.
"""

import os
import signal
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.choices import ALL_QUEUES
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.errors import AwsError
from partnerportal import devstack
from partnerportal.management.commands.seed_demo import (
    DEFAULT_DEMO_PASSWORD,
    DEMO_CUSTOMER_USERNAME,
    DEMO_STAFF_USERNAME,
)
from tenants.models import Desktop

READY_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20


class Command(BaseCommand):
    help = (
        "Run the simulator (as AWS, demo customer onboarded), a Celery worker and beat (when Redis "
        "answers) and the web app, in one command. Development only; Ctrl-C stops everything."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address of the web app.")
        parser.add_argument("--port", type=int, default=8000, help="Port of the web app.")
        parser.add_argument("--simulator-port", type=int, default=5000, help="Port of the simulator.")
        parser.add_argument(
            "--time-scale",
            type=float,
            default=60.0,
            help="Simulated seconds per wall second (60: a 20-minute provisioning takes 20 s).",
        )
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes.")
        parser.add_argument(
            "--log-dir", type=Path, default=None, help="Where worker.log and beat.log go (default var/log)."
        )
        parser.add_argument("--noreload", action="store_true", help="Do not reload the web app on changes.")
        parser.add_argument(
            "--demo-fleet",
            type=int,
            default=0,
            help="Desktops to ask for, as the demo customer's admin would, when the customer has none yet "
            "(`make run` asks for 6), so the portal has desktops, a job and usage to show.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "runstack plays AWS with a simulator and demo logins; it runs only with DEBUG on."
            )
        started = time.monotonic()
        # SIGTERM stops the stack the way Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        children: list[devstack.ChildProcess] = []
        server = None
        try:
            with_jobs = devstack.redis_answers(settings.CELERY_BROKER_URL)
            if not with_jobs:
                self.stderr.write(self._no_redis_message())
            server = self._start_simulator(options)
            demo_rows = self._connect_demo_customer(server)
            self._start_children(options, children, with_jobs=with_jobs)
            self._wait_ready(children, options)
            if with_jobs and options["demo_fleet"]:
                self._demo_fleet(demo_rows, options["demo_fleet"])
            self._banner(options, server.endpoint_url, demo_rows, children, time.monotonic() - started)
            self._supervise(children)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the stack…")
        finally:
            # A second Ctrl-C must not cut the clean-up short and leave a worker behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            devstack.stop_children(children, STOP_TIMEOUT_SECONDS)
            if server is not None:
                server.stop()
        self.stdout.write("Stopped: web app, worker, beat and simulator.")

    # ------------------------------------------------------------------------------------------ start
    def _start_simulator(self, options):
        try:
            from moto.moto_api._internal import mock_random

            from simulator.server import SimulatorServer
            from simulator.state import STATE, StartupOptions
        except ImportError as missing:
            raise CommandError(
                f"The simulator needs moto ({missing}); install it with: pip install -e '.[simulator]'"
            ) from missing
        for name, port in (("web app", options["port"]), ("simulator", options["simulator_port"])):
            host = options["host"] if name == "web app" else "127.0.0.1"
            if not devstack.port_is_free(host, port):
                raise CommandError(
                    f"Port {port} for the {name} is in use (is another `make run` up?). Stop it, or pick "
                    f"another with --{'port' if name == 'web app' else 'simulator-port'}."
                )
        server = SimulatorServer(
            "127.0.0.1",
            options["simulator_port"],
            StartupOptions(time_scale=options["time_scale"], demo_world=True, demo_ready=True),
        ).start()
        with STATE.lock:
            # The demo world's ids come from seed 0, the same on every run; the ids made from now on must
            # not repeat an earlier run's, which our database still holds (a WorkSpace id is unique).
            mock_random.seed(time.time_ns())
        # This process reconciles the demo account next; the children get the same environment.
        stack_env = devstack.stack_environment(simulator_url=server.endpoint_url)
        os.environ.clear()
        os.environ.update(stack_env)
        return server

    def _connect_demo_customer(self, server) -> devstack.DemoRows:
        from simulator.control import SimulatorControl

        acme = server.demo["accounts"][0]
        try:
            return devstack.demo_customer_mirror(simulator=SimulatorControl(server.endpoint_url), demo=acme)
        except (LookupError, AwsError) as problem:
            raise CommandError(
                f"Could not connect the demo customer to the simulator: {problem}"
            ) from problem

    def _start_children(self, options, children: list[devstack.ChildProcess], *, with_jobs: bool) -> None:
        """Start them into `children` one by one, so an interrupt half-way still stops the started ones."""
        env = dict(os.environ)
        if with_jobs:
            log_dir: Path = options["log_dir"] or Path(settings.BASE_DIR) / "var" / "log"
            celery = [sys.executable, "-m", "celery", "-A", "partnerportal"]
            worker = [*celery, "worker", "-Q", ALL_QUEUES, "--concurrency", str(options["concurrency"])]
            worker += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
            children.append(devstack.ChildProcess("worker", worker, env, log_dir / "worker.log").start())
            # One beat only: its scheduler (DatabaseScheduler) reads the schedules staff edit in the admin.
            beat = [*celery, "beat", "--loglevel", "INFO"]
            children.append(devstack.ChildProcess("beat", beat, env, log_dir / "beat.log").start())
        web = [sys.executable, "manage.py", "runserver", f"{options['host']}:{options['port']}"]
        if options["noreload"]:
            web.append("--noreload")
        children.append(devstack.ChildProcess("web", web, env).start())

    def _no_redis_message(self) -> str:
        return (
            f"\n  Redis does not answer at {settings.CELERY_BROKER_URL} (CELERY_BROKER_URL): no Celery worker "
            "or beat is started.\n"
            "  The admin works (browse, edit, log in), but jobs will not run: a page that starts one (create "
            "desktops, power actions)\n"
            "  fails with a connection error, and schedules and reconciliation do not run.\n"
            "  Start Redis, then run `make run` again:  redis-server --daemonize yes\n"
            "  (install it with `apt-get install redis-server` or `brew install redis`, or point "
            "CELERY_BROKER_URL at a Redis that is up).\n\n"
        )

    def _wait_ready(self, children: list[devstack.ChildProcess], options) -> None:
        """Until the web app answers and the worker said it is ready; a child that dies here fails the start."""
        health = f"http://{options['host']}:{options['port']}/healthz"
        worker = next((child for child in children if child.name == "worker"), None)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for child in children:
                if child.exit_code() is not None:
                    raise CommandError(self._died(child))
            worker_ready = worker is None or " ready." in worker.log_text()
            if worker_ready and devstack.http_answers(health):
                return
            time.sleep(0.25)
        logs = ", ".join(str(child.log_path) for child in children if child.log_path) or "the output above"
        raise CommandError(f"The stack was not ready after {READY_TIMEOUT_SECONDS} s; see {logs}.")

    def _supervise(self, children: list[devstack.ChildProcess]) -> None:
        """Wait for Ctrl-C; if a child dies meanwhile, stop the stack rather than run half of it."""
        while True:
            for child in children:
                if child.exit_code() is not None:
                    raise CommandError(self._died(child))
            time.sleep(0.5)

    def _died(self, child: devstack.ChildProcess) -> str:
        where = f"; its log: {child.log_path}" if child.log_path else ""
        tail = "\n".join(child.log_text().splitlines()[-15:])
        return f"The {child.name} exited with code {child.exit_code()}{where}\n{tail}".rstrip()

    def _demo_fleet(self, rows: devstack.DemoRows, count: int) -> None:
        """A first fleet for the demo customer, through the same service and job as a person's request."""
        customer = rows.aws_account.customer
        if Desktop.objects.filter(aws_account__customer=customer).exists():
            return
        users = [f"demo-user{n:02d}" for n in range(1, count + 1)]
        job = desktop_create_bulk(
            actor=Actor.system("make run (demo fleet)"),
            request=DesktopCreateRequest(
                customer=customer,
                aws_account=rows.aws_account,
                directory=rows.directory,
                bundle=rows.bundle,
                user_names=users,
            ),
        )
        self.stdout.write(f"Demo fleet: job {job.pk} creates {count} desktops for {customer.name}.")

    # ----------------------------------------------------------------------------------------- banner
    def _banner(self, options, simulator_url: str, rows: devstack.DemoRows, children, seconds: float) -> None:
        python = os.path.relpath(sys.executable, settings.BASE_DIR)
        if python.startswith(".."):
            python = sys.executable
        password = (
            "the password in $DEMO_PASSWORD" if os.environ.get("DEMO_PASSWORD") else DEFAULT_DEMO_PASSWORD
        )
        logs = [str(child.log_path) for child in children if child.log_path]
        jobs = (
            f"Celery worker + beat; logs: {', '.join(logs)}"
            if logs
            else "NOT RUNNING: Redis does not answer (see above); the admin works, jobs do not run"
        )
        account, directory, bundle = rows.aws_account, rows.directory, rows.bundle
        lines = [
            "",
            f"  The partner control plane is up (ready in {seconds:.1f} s).",
            "",
            f"  Web app:    http://{options['host']}:{options['port']}/admin/",
            f"  Portal:     http://{options['host']}:{options['port']}/portal/  (customers sign in here, "
            f"e.g. {DEMO_CUSTOMER_USERNAME})",
            f"  Simulator:  {simulator_url}  (AWS for the whole stack; time runs {options['time_scale']:g}x)",
            f"  Logins:     {DEMO_STAFF_USERNAME} / {password}  (partner staff)",
            f"              {DEMO_CUSTOMER_USERNAME} / {password}  (customer admin of {account.customer.name})",
            f"  Demo AWS:   account {account.account_id}, directory {directory.directory_id}, "
            f"bundle {bundle.bundle_id}",
            f"  Jobs:       {jobs}",
            f"  Try:        {python} manage.py desktops_create --account {account.account_id} "
            f"--directory {directory.directory_id} --bundle {bundle.bundle_id} --count 2 --wait",
            "              or Desktops > Create desktops in the admin, or New desktops in the portal.",
            "",
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
