"""Bulk desktop creation, measured: N desktops through the job engine against the simulator, and the
naive way (one CreateWorkspaces per desktop, one after another) in the same run for comparison.

    .venv/bin/python bench/bulk_create.py --n 1000 [--latency-ms 50] [--provisioning-seconds 5]
                                          [--workers 2] [--skip-baseline] [--workdir DIR]
                                          [--database NAME]

Starts everything it needs and stops it at the end (also on Ctrl-C): the simulator in this process
(time scale 1, so provisioning takes `--provisioning-seconds` of wall time), a throwaway Redis on a free
port, a Celery worker and beat, and a fresh PostgreSQL database `partnerportal_bench` (dropped and
made again each run). Prints one JSON object on stdout; progress goes to stderr. The worker's and beat's
logs stay in the work directory, whose path is printed to stderr and included in the JSON.
"""

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/bulk_create.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from tests.integration.stack import (  # noqa: E402
    CeleryProcess,
    RedisProcess,
    stack_environment,
)

DATABASE_NAME = "partnerportal_bench"

# The worker's settings for the run: polls every second, a limiter that never holds the engine back,
# and leases/lost-message times long enough that the sweeper does not re-send queued batches.
POLL_INTERVAL_SECONDS = 1.0
RATE_LIMIT_PER_SECOND = 200
WORKER_SETTINGS = {
    "JOB_POLL_INTERVAL_SECONDS": str(POLL_INTERVAL_SECONDS),
    "AWS_RATE_LIMIT_PER_SECOND": str(RATE_LIMIT_PER_SECOND),
    "AWS_RATE_LIMIT_BURST": "50",
    "JOB_ITEM_LEASE_SECONDS": "300",
    "JOB_LOST_MESSAGE_SECONDS": "120",
    "JOBS_SWEEP_INTERVAL_SECONDS": "5",
    "LOG_LEVEL": "INFO",
}


def use_environment(env: dict[str, str]) -> None:
    """This process gets the stack's environment too: same database, broker (rate limiter), endpoint."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "ORCHESTRATION_")) and key not in env:
            del os.environ[key]
    os.environ.update(env)


def run_engine(sim, world: dict, n: int, timeout: float) -> dict:
    """desktop_create_bulk, then watch the job's rows until it is finished."""
    from orchestration.actors import Actor
    from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus
    from orchestration.models import JobItem
    from orchestration.selectors import job_progress
    from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
    from tenants.models import Desktop

    sim.clear_calls()
    log(f"engine: requesting {n} desktops")
    aws_started = sim.now()  # the simulator's clock (time scale 1) dates each call it records
    started = time.monotonic()
    job = desktop_create_bulk(
        actor=Actor.system("bench"),
        request=DesktopCreateRequest(
            customer=world["customer"],
            aws_account=world["aws_account"],
            directory=world["directory"],
            bundle=world["bundle"],
            count=n,
        ),
    )
    request_seconds = time.monotonic() - started
    submitted_seconds = None
    last_report = 0.0
    deadline = started + timeout
    while True:
        job.refresh_from_db()
        now = time.monotonic()
        if job.status in JOB_TERMINAL_STATUSES:
            break
        if (
            submitted_seconds is None
            and not JobItem.objects.filter(
                job=job, status__in=[JobItemStatus.PENDING, JobItemStatus.RUNNING]
            ).exists()
        ):
            submitted_seconds = now - started
            log(f"engine: every desktop is known to AWS after {submitted_seconds:.2f}s")
        if now - last_report >= 5:
            last_report = now
            log(f"engine: {now - started:.1f}s {job.status} {job_progress(job=job)}")
        if now > deadline:
            raise TimeoutError(
                f"job {job.pk} still {job.status} after {timeout:.0f}s: {job_progress(job=job)}"
            )
        time.sleep(0.05)
    wall = time.monotonic() - started
    progress = job_progress(job=job)
    states: dict[str, int] = {}
    for state in Desktop.objects.filter(job_items__job=job).values_list("state", flat=True):
        states[state] = states.get(state, 0) + 1
    counts = sim.call_counts()
    creates = [datetime.fromisoformat(call["time"]) for call in sim.calls("CreateWorkspaces")]
    last_create = (max(creates) - aws_started).total_seconds() if creates else None
    first_create = (min(creates) - aws_started).total_seconds() if creates else None
    describes = sorted(
        (datetime.fromisoformat(call["time"]) - aws_started).total_seconds()
        for call in sim.calls("DescribeWorkspaces")
    )
    log(f"engine: job {job.pk} {job.status} in {wall:.2f}s, desktops {states}, calls {counts}")
    return {
        "wall_seconds": round(wall, 3),
        "last_create_call_seconds": round(last_create, 3) if last_create is not None else None,
        "first_create_call_seconds": round(first_create, 3) if first_create is not None else None,
        "describe_call_seconds": [round(t, 2) for t in describes],
        "request_seconds": round(request_seconds, 3),
        "submitted_seconds": round(submitted_seconds, 3) if submitted_seconds is not None else None,
        "job_status": job.status,
        "succeeded": progress.succeeded,
        "failed": progress.failed,
        "desktop_states": states,
        "calls": counts,
    }


def run_baseline(sim, world: dict, n: int, timeout: float) -> dict:
    """The naive way through the same boundary: one CreateWorkspaces per desktop, in sequence, then
    DescribeWorkspaces (25 ids a call) every poll interval until all are AVAILABLE. No rows, no audit."""
    from orchestration.aws.types import WorkspaceSpec
    from orchestration.aws.workspaces import UNDEFINED_USER, workspaces_create_batch, workspaces_describe
    from orchestration.services.accounts import account_access
    from tenants.choices import RunningMode

    account, directory, bundle = world["aws_account"], world["directory"], world["bundle"]
    access = account_access(account, region=directory.region)
    sim.clear_calls()
    log(f"baseline: creating {n} desktops one call each")
    started = time.monotonic()
    pending: set[str] = set()
    failed = 0
    last_report = started
    for number in range(n):
        spec = WorkspaceSpec(
            directory_id=directory.directory_id,
            user_name=UNDEFINED_USER,
            bundle_id=bundle.bundle_id,
            workspace_name=f"bench-naive-{number}",
            running_mode=RunningMode.MANUAL,
        )
        result = workspaces_create_batch(access, [spec])
        made = result.created.get(spec.workspace_name)
        if made is None:
            failed += 1
        else:
            pending.add(made.workspace_id)
        if time.monotonic() - last_report >= 5:
            last_report = time.monotonic()
            log(f"baseline: {last_report - started:.1f}s, {number + 1}/{n} created")
    created_seconds = time.monotonic() - started
    log(f"baseline: all create calls done after {created_seconds:.2f}s ({failed} failed)")
    deadline = started + timeout
    failed_states = {"ERROR", "TERMINATED", "TERMINATING", "SUSPENDED", "UNHEALTHY"}
    while pending:
        for workspace in workspaces_describe(access, sorted(pending)):
            if workspace.state == "AVAILABLE":
                pending.discard(workspace.workspace_id)
            elif workspace.state in failed_states:
                pending.discard(workspace.workspace_id)
                failed += 1
        if not pending:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"baseline: {len(pending)} desktops not AVAILABLE after {timeout:.0f}s")
        time.sleep(POLL_INTERVAL_SECONDS)
    wall = time.monotonic() - started
    counts = sim.call_counts()
    log(f"baseline: {n - failed} AVAILABLE in {wall:.2f}s, calls {counts}")
    return {
        "wall_seconds": round(wall, 3),
        "created_seconds": round(created_seconds, 3),
        "failed": failed,
        "calls": counts,
    }


def log_problems(*processes: CeleryProcess) -> dict[str, int]:
    """How many ERROR/CRITICAL lines and tracebacks each process logged."""
    found = {}
    for process in processes:
        text = process.log()
        found[process.name] = sum(
            1
            for line in text.splitlines()
            if " ERROR " in line or " CRITICAL " in line or "ERROR/" in line or line.startswith("Traceback")
        )
    return found


def baseline_figures(baseline: dict | None, engine_wall: float) -> dict:
    """The baseline's part of the JSON (nulls when it was skipped), and how much faster the engine was."""
    if baseline is None:
        keys = ("create_workspaces_calls", "describe_workspaces_calls", "wall_seconds", "created_seconds")
        return {**{f"baseline_{key}": None for key in keys}, "baseline_failed": None, "speedup": None}
    return {
        "baseline_create_workspaces_calls": baseline["calls"].get("CreateWorkspaces", 0),
        "baseline_describe_workspaces_calls": baseline["calls"].get("DescribeWorkspaces", 0),
        "baseline_wall_seconds": baseline["wall_seconds"],
        "baseline_created_seconds": baseline["created_seconds"],
        "baseline_failed": baseline["failed"],
        "speedup": round(baseline["wall_seconds"] / engine_wall, 2),
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """One piece on purpose: the run's steps in the order they happen (simulator, database, worker, world,
    measurement, JSON), so each printed figure reads next to the setup that produced it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="desktops to create (1-5000)")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="simulator latency per WorkSpaces call"
    )
    parser.add_argument(
        "--provisioning-seconds", type=float, default=5.0, help="PENDING -> AVAILABLE, in wall seconds"
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the naive baseline")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a phase after this long")
    parser.add_argument("--workdir", type=Path, default=None, help="where logs go (default: a new temp dir)")
    parser.add_argument("--database", default=DATABASE_NAME, help="the database to drop and make for the run")
    args = parser.parse_args()
    if not 1 <= args.n <= 5000:
        parser.error("--n must be 1 to 5000 (one job's limit)")

    # Anything that prints to stdout while we run (a library, a stray print) must not spoil the JSON.
    stdout, sys.stdout = sys.stdout, sys.stderr
    # SIGTERM ends the run like Ctrl-C does: through the finally below.
    signal.signal(signal.SIGTERM, _interrupt)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-bulk-create-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work directory (worker and beat logs): {workdir}")

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = redis = worker = beat = None
    django_ready = False
    try:
        server = SimulatorServer(
            "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=20_000)
        ).start()
        sim = SimulatorControl(server.endpoint_url)
        log(f"simulator at {server.endpoint_url}")
        redis = RedisProcess(workdir).start()
        log(f"redis at {redis.url}")
        env = stack_environment(
            database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            # The first poll of a new desktop when it should be ready: the simulator's provisioning time.
            extra={**WORKER_SETTINGS, "JOB_CREATE_FIRST_POLL_SECONDS": str(args.provisioning_seconds)},
        )
        use_environment(env)

        import django

        django.setup()
        django_ready = True
        from django.core.management import call_command

        from tests.integration.world import onboard_demo_customer  # models import only after setup

        log(f"database {args.database}: dropping, creating, migrating")
        recreate_database(args.database)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        sim.set_durations(provisioning=args.provisioning_seconds)
        sim.set_faults(latency_ms=args.latency_ms)

        worker = CeleryProcess("worker", env, workdir, "worker", concurrency=args.workers).start()
        beat = CeleryProcess("beat", env, workdir, "beat").start()
        log(f"worker (concurrency {args.workers}) and beat started")

        engine = run_engine(sim, world, args.n, args.timeout)
        baseline = None if args.skip_baseline else run_baseline(sim, world, args.n, args.timeout)
        problems = log_problems(worker, beat)
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        return 130
    finally:
        for process in (beat, worker):
            if process is not None:
                process.stop()
        if redis is not None:
            redis.stop()
        if server is not None:
            server.stop()
        if django_ready:
            from django.db import connections

            connections.close_all()

    result = {
        "n": args.n,
        "create_workspaces_calls": engine["calls"].get("CreateWorkspaces", 0),
        "describe_workspaces_calls": engine["calls"].get("DescribeWorkspaces", 0),
        "lower_bound": math.ceil(args.n / 25),
        "wall_seconds": engine["wall_seconds"],
        "latency_ms": args.latency_ms,
        "provisioning_seconds": args.provisioning_seconds,
        "poll_interval_seconds": POLL_INTERVAL_SECONDS,
        "rate_limit_per_second": RATE_LIMIT_PER_SECOND,
        "workers": args.workers,
        "job_status": engine["job_status"],
        "succeeded": engine["succeeded"],
        "failed": engine["failed"],
        "desktop_states": engine["desktop_states"],
        "request_seconds": engine["request_seconds"],
        "all_submitted_seconds": engine["submitted_seconds"],
        "first_create_call_seconds": engine["first_create_call_seconds"],
        "last_create_call_seconds": engine["last_create_call_seconds"],
        "describe_call_seconds": engine["describe_call_seconds"],
        "available_within_provisioning_plus_seconds": round(
            engine["wall_seconds"] - args.provisioning_seconds, 3
        ),
        "other_calls": {
            op: count
            for op, count in sorted(engine["calls"].items())
            if op not in ("CreateWorkspaces", "DescribeWorkspaces")
        },
        **baseline_figures(baseline, engine["wall_seconds"]),
        "worker_log_error_lines": problems,
        "workdir": str(workdir),
    }
    print(json.dumps(result), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
