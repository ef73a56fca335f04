"""The engine's own cost: job items per second per worker process, and SQL queries per item, against a
simulator that answers at once.

    .venv/bin/python bench/engine.py [--n 1000] [--poll-seconds 0.2] [--memory-jobs K] [--database NAME]

Starts the simulator as a child process (no added latency, every asynchronous step 0 s long, so each
desktop is settled at the first poll), drops and makes the PostgreSQL database `partnerportal_bench_engine`,
onboards one customer, then runs three jobs of N desktops one after another: create (N new desktops), reboot
and stop (of those desktops). Their deliveries and polls run in this one process, as one worker process
runs them: the messages the engine publishes are kept in a list instead of Redis and run in order of their
due time (waiting for a poll's countdown is not counted as work). For each job it prints the items per
second of time spent inside the tasks (`items_per_second_per_worker`), the same without the time spent
waiting for the simulator's answers (`items_per_second_without_aws`: the engine's own cost) and per CPU
second of this process, the SQL queries those tasks ran per item (`sql_queries_per_item`), the AWS calls
and the number of deliveries and polls. `--memory-jobs K` then runs K more create jobs of N desktops and
prints this process's resident memory after the first and after the last (the process is the worker).
"""

import argparse
import heapq
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/engine.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from tests.integration.stack import free_port, wait_until  # noqa: E402

DATABASE_NAME = "partnerportal_bench_engine"
# Every asynchronous AWS step of the three jobs takes no time: a desktop is done at its first poll.
ZERO_DURATIONS = ("provisioning", "starting", "stopping", "rebooting")


class AwsClock:
    """Wall time spent waiting for the simulator's answers (the HTTP requests boto3 sends), AWS's time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from urllib3.connectionpool import HTTPConnectionPool

        urlopen, clock = HTTPConnectionPool.urlopen, self

        def timed_urlopen(pool, *args, **kwargs):
            started = time.perf_counter()
            try:
                return urlopen(pool, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - started

        HTTPConnectionPool.urlopen = timed_urlopen  # type: ignore[method-assign,assignment]


AWS_CLOCK = AwsClock()


class InProcessBroker:
    """The engine's messages, kept here in order of due time and run in this process, one at a time."""

    def __init__(self) -> None:
        self.queue: list[tuple[float, int, str, list]] = []
        self.order = itertools.count()

    def publish(self, task_name: str, args: list, queue: str, countdown: float | None = None) -> None:
        heapq.heappush(self.queue, (time.monotonic() + (countdown or 0.0), next(self.order), task_name, args))

    def drain(self, until_done) -> dict:
        """Run messages until `until_done()`; the time and SQL inside the tasks, and how many of each ran."""
        from django.db import connection

        from orchestration.engine.publish import JOB_ITEMS_TASK, JOB_POLL_TASK
        from orchestration.services.jobs import job_items_run, job_poll

        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        busy = cpu = 0.0
        aws_before = AWS_CLOCK.seconds
        ran = {"deliveries": 0, "polls": 0}
        while not until_done():
            if not self.queue:
                raise RuntimeError("no message left, but the job is not finished")
            due, _, task_name, args = heapq.heappop(self.queue)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # a poll's countdown: the worker would be idle (or busy with others)
            started, started_cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(count):
                if task_name == JOB_ITEMS_TASK:
                    job_items_run(job_id=args[0], item_ids=args[1])
                    ran["deliveries"] += 1
                elif task_name == JOB_POLL_TASK:
                    job_poll(job_id=args[0])
                    ran["polls"] += 1
                else:
                    raise RuntimeError(f"unexpected task {task_name}")
            busy += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
        aws = AWS_CLOCK.seconds - aws_before
        return {"busy_seconds": busy, "cpu_seconds": cpu, "aws_seconds": aws, "queries": queries, **ran}


def start_simulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    """The simulator in a process of its own, so its work is not counted as the engine's."""
    port = free_port()
    command = [sys.executable, "-m", "simulator", "--port", str(port), "--time-scale", "1"]
    for name in ZERO_DURATIONS:
        command += ["--duration", f"{name}=0"]
    log_file = (workdir / "simulator.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{endpoint}/_simulator/health", timeout=1):  # noqa: S310 - localhost
                return True
        except OSError:
            return False

    wait_until(up, 60, "the simulator")
    return process, endpoint


def rss_mib() -> float:
    """This process's resident memory now (not its peak), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def run_job(broker: InProcessBroker, sim, name: str, make_job) -> dict:
    """Make one job (not counted), then run its messages until it is finished."""
    from orchestration.choices import JOB_TERMINAL_STATUSES
    from orchestration.models import Job
    from orchestration.selectors import job_progress

    job = make_job()
    sim.clear_calls()

    def finished() -> bool:
        return Job.objects.filter(pk=job.pk, status__in=JOB_TERMINAL_STATUSES).exists()

    figures = broker.drain(finished)
    job.refresh_from_db()
    progress = job_progress(job=job)
    n = job.total_items
    log(
        f"{name}: {n} items {job.status} in {figures['busy_seconds']:.2f}s of tasks, {figures['queries']} SQL"
    )
    return {
        "items": n,
        "job_status": job.status,
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "items_per_second_per_worker": round(n / figures["busy_seconds"], 1),
        "items_per_second_without_aws": round(n / (figures["busy_seconds"] - figures["aws_seconds"]), 1),
        "items_per_cpu_second": round(n / figures["cpu_seconds"], 1),
        "sql_queries_per_item": round(figures["queries"] / n, 3),
        "sql_queries": figures["queries"],
        "task_seconds": round(figures["busy_seconds"], 3),
        "aws_seconds": round(figures["aws_seconds"], 3),
        "deliveries": figures["deliveries"],
        "polls": figures["polls"],
        "aws_calls": sim.call_counts(),
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="desktops per job (1-5000)")
    parser.add_argument(
        "--poll-seconds", type=float, default=0.2, help="JOB_POLL_INTERVAL_SECONDS for the run"
    )
    parser.add_argument("--database", default=DATABASE_NAME)
    parser.add_argument(
        "--memory-jobs",
        type=int,
        default=0,
        help="then this many more create jobs of N: this process's RSS after the first and after the last",
    )
    args = parser.parse_args()
    if not 1 <= args.n <= 5000:
        parser.error("--n must be 1 to 5000 (one job's limit)")

    stdout, sys.stdout = sys.stdout, sys.stderr  # nothing but the JSON reaches stdout
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    simulator, endpoint = start_simulator(workdir)
    try:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_RATE_LIMIT_PER_SECOND": "0",  # the engine's cost, not the limiter's spacing
            }
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from orchestration.actors import Actor
        from orchestration.engine import publish
        from orchestration.services.desktop_actions import desktop_action_bulk
        from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
        from simulator.control import SimulatorControl
        from tenants.models import Desktop
        from tests.integration.world import onboard_demo_customer

        sim = SimulatorControl(endpoint)
        log(f"database {args.database}: dropping, creating, migrating")
        recreate_database(args.database)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        settings.JOB_POLL_INTERVAL_SECONDS = args.poll_seconds
        broker = InProcessBroker()
        AWS_CLOCK.install()
        publish.publish = broker.publish  # the engine's one way out to the broker
        actor = Actor.system("bench")

        def create():
            return desktop_create_bulk(
                actor=actor,
                request=DesktopCreateRequest(
                    customer=world["customer"],
                    aws_account=world["aws_account"],
                    directory=world["directory"],
                    bundle=world["bundle"],
                    count=args.n,
                ),
            )

        def action(name: str):
            def make():
                desktops = Desktop.objects.filter(aws_account=world["aws_account"]).order_by("pk")
                return desktop_action_bulk(
                    actor=actor, customer=world["customer"], desktops=list(desktops), action=name
                )

            return make

        jobs = {
            "create": run_job(broker, sim, "create", create),
            "reboot": run_job(broker, sim, "reboot", action("reboot")),
            "stop": run_job(broker, sim, "stop", action("stop")),
        }
        memory = None
        if args.memory_jobs:
            rss, engine_seconds, aws_seconds = [], [], []
            for number in range(args.memory_jobs):
                ran = run_job(broker, sim, f"memory create {number + 1}", create)
                rss.append(rss_mib())
                engine_seconds.append(round(ran["task_seconds"] - ran["aws_seconds"], 3))
                aws_seconds.append(ran["aws_seconds"])
            memory = {
                "jobs": args.memory_jobs,
                "rss_mib_after_first": rss[0],
                "rss_mib_after_last": rss[-1],
                "growth_percent": round(100 * (rss[-1] - rss[0]) / rss[0], 1),
                "rss_mib_after_each": rss,
                # Each job's time in the tasks apart from the simulator's answers, and those answers: does
                # either grow with the desktops made before it (one account, N more each job)?
                "engine_seconds_each": engine_seconds,
                "aws_seconds_each": aws_seconds,
            }
        load = os.getloadavg()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)

    total_items = sum(job["items"] for job in jobs.values())
    total_seconds = sum(job["task_seconds"] for job in jobs.values())
    total_queries = sum(job["sql_queries"] for job in jobs.values())
    total_aws = sum(job["aws_seconds"] for job in jobs.values())
    result = {
        "n": args.n,
        "items_per_second_per_worker": round(total_items / total_seconds, 1),
        "sql_queries_per_item": round(total_queries / total_items, 3),
        "items_per_second_without_aws": round(total_items / (total_seconds - total_aws), 1),
        "jobs": jobs,
        "memory": memory,
        "poll_interval_seconds": args.poll_seconds,
        "load_average": [round(x, 2) for x in load],
    }
    print(json.dumps(result), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
