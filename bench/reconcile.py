"""A reconciliation of N desktops, measured against the delivery's time limits.

    .venv/bin/python bench/reconcile.py [--n 10000] [--rate 5] [--latency-ms 0]
    .venv/bin/python bench/reconcile.py --accounts 100 --n 100000 --workers 2 [--latency-ms 50] [--rate 5]

With --accounts the N desktops are spread over that many customers, each in a simulated account of its
own, and reconciliation starts as beat starts it (`reconcile_all`: one job per account on the periodic
queue), taken by --workers separate Celery workers (one process each, node names w1@hostA, …). It prints,
per account and overall, the wall time, the SQL queries (counted inside the workers,
bench/sql_counter.py), the AWS calls, and whether every account finished within the 900 s window.
Without --accounts (one account, one delivery in this process):

Starts the simulator in this process and a Redis on a free port (for the rate limiter, at `--rate`
calls a second per account and region: the production default is 5), drops and makes the PostgreSQL
database `partnerportal_bench_reconcile`, onboards a customer with N AVAILABLE WorkSpaces and their
rows, then runs one reconciliation delivery in this process exactly as a worker does (the job's one
region item through `job_items_run`), timing it and counting its AWS calls. Prints one JSON object with
the wall time beside the delivery's soft and hard time limits (`JOB_TASK_*_TIME_LIMIT_SECONDS`).
"""

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/reconcile.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from bench.fleet import seconds, split, spread, sql_lines, workers_start, workers_stop  # noqa: E402
from tests.integration.stack import RedisProcess, stack_environment  # noqa: E402

DATABASE_NAME = "partnerportal_bench_reconcile"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="AVAILABLE desktops to reconcile")
    parser.add_argument("--rate", type=float, default=5.0, help="AWS_RATE_LIMIT_PER_SECOND")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency per WorkSpaces call")
    parser.add_argument("--accounts", type=int, default=0, help="spread over this many accounts, fan out")
    parser.add_argument("--workers", type=int, default=2, help="with --accounts: separate Celery workers")
    parser.add_argument("--timeout", type=float, default=1800.0, help="with --accounts: give up after this")
    args = parser.parse_args()
    if args.accounts:
        if not 1 <= args.accounts <= 200 or args.workers < 1:
            parser.error("--accounts is 1 to 200 and --workers at least 1")
        return fan_out(args)

    stdout, sys.stdout = sys.stdout, sys.stderr  # nothing but the JSON reaches stdout
    signal.signal(signal.SIGTERM, _interrupt)

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = SimulatorServer(
        "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=100)
    ).start()
    redis = RedisProcess(Path(tempfile.mkdtemp(prefix="bench-reconcile-"))).start()
    try:
        sim = SimulatorControl(server.endpoint_url)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}",
                "CELERY_BROKER_URL": redis.url,
                "AWS_ENDPOINT_URL": server.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_RATE_LIMIT_PER_SECOND": "0",  # the fleet is made at full speed; the limit is set below
            }
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from orchestration.actors import Actor
        from orchestration.services.jobs import job_items_run
        from orchestration.services.reconcile import reconcile_start
        from orchestration.tasks import delivery_time_limits
        from tests.integration.world import make_available_desktops, onboard_demo_customer

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        sim.set_durations(provisioning=0)
        made = time.monotonic()
        make_available_desktops(world, args.n)
        log(f"{args.n} desktops made in {time.monotonic() - made:.1f}s")
        settings.AWS_RATE_LIMIT_PER_SECOND = args.rate
        sim.set_faults(latency_ms=args.latency_ms)
        sim.clear_calls()
        job = reconcile_start(actor=Actor.system("bench"), aws_account=world["aws_account"])
        started = time.monotonic()
        job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
        wall = time.monotonic() - started
        job.refresh_from_db()
        soft, hard = delivery_time_limits()
        counts = sim.call_counts()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        redis.stop()
        server.stop()

    result = {
        "n": args.n,
        "wall_seconds": round(wall, 2),
        "soft_time_limit_seconds": soft,
        "time_limit_seconds": hard,
        "fits_soft_limit": wall < soft,
        "job_status": job.status,
        "summary": (job.result or {}).get("summary"),
        "describe_workspaces_calls": counts.get("DescribeWorkspaces", 0),
        "describe_workspaces_lower_bound": math.ceil(args.n / 25),
        "calls": counts,
        "rate_limit_per_second": args.rate,
        "latency_ms": args.latency_ms,
    }
    print(json.dumps(result), file=stdout, flush=True)
    return 0


def fan_out(args: argparse.Namespace) -> int:
    """Reconciliation over many accounts as beat starts it; figures from the jobs' rows and the workers'
    SQL counts."""
    stdout, sys.stdout = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-fanout-"))
    log(f"work directory (worker logs): {workdir}")

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = SimulatorServer(
        "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=100)
    ).start()
    redis = RedisProcess(workdir).start()
    workers = []
    sql_log = workdir / "sql.jsonl"
    database_url = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
    try:
        sim = SimulatorControl(server.endpoint_url, timeout=300)
        env = stack_environment(
            database_url=database_url,
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            extra={
                "AWS_RATE_LIMIT_PER_SECOND": str(args.rate),
                "AWS_RATE_LIMIT_REDIS_URL": redis.url,
                "BENCH_SQL_LOG": str(sql_log),
                # A region's delivery may take minutes at a low rate: leases and time limits as in production.
                "JOB_ITEM_LEASE_SECONDS": "300",
                "JOB_LOST_MESSAGE_SECONDS": "1200",
                "LOG_LEVEL": "INFO",
            },
        )
        os.environ.update({**env, "AWS_RATE_LIMIT_PER_SECOND": "0"})  # the fleet is made at full speed
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from orchestration.choices import JOB_TERMINAL_STATUSES
        from orchestration.models import Job
        from orchestration.services.reconcile import reconcile_all
        from tenants.choices import VerificationStatus
        from tenants.models import AwsAccount
        from tests.integration.world import make_available_desktops, onboard_fleet_customers

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        made = time.monotonic()
        customers = onboard_fleet_customers(sim, args.accounts)
        sim.set_durations(provisioning=0)
        for world, share in zip(customers, split(args.n, args.accounts), strict=True):
            make_available_desktops(world, share)
        # As after onboarding's check of the role: reconcile_all takes verified accounts only.
        AwsAccount.objects.update(verification_status=VerificationStatus.VERIFIED)
        log(f"{args.n} desktops in {args.accounts} accounts made in {time.monotonic() - made:.1f}s")
        workers = workers_start(args.workers, env, workdir, "periodic")
        log(f"{args.workers} workers started")
        settings.AWS_RATE_LIMIT_PER_SECOND = args.rate
        sim.set_faults(latency_ms=args.latency_ms)
        sim.clear_calls()

        began = time.monotonic()
        started = reconcile_all()
        jobs = Job.objects.filter(kind="RECONCILE")
        while jobs.exclude(status__in=JOB_TERMINAL_STATUSES).exists():
            if time.monotonic() - began > args.timeout:
                raise TimeoutError(f"reconciliations not finished after {args.timeout:.0f}s")
            time.sleep(0.5)
        wall = time.monotonic() - began
        calls = sim.call_counts()
        per_account_calls = {
            w["aws_account"].account_id: sim.call_counts(account_id=w["aws_account"].account_id)
            for w in customers
        }
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        workers_stop(workers)
        redis.stop()
        server.stop()

    queries: dict[int, int] = {}
    for line in sql_lines(sql_log):
        if line["task"] == "orchestration.job_items_run":
            queries[line["args"][0]] = queries.get(line["args"][0], 0) + line["queries"]
    accounts = []
    for job in jobs.order_by("pk"):
        account_id = job.params["aws_account_id"]
        accounts.append(
            {
                "account": account_id,
                "status": job.status,
                "wall_seconds": seconds(job.finished_at, job.started_at),
                "finished_after_start_seconds": seconds(job.finished_at, job.created_at),
                "desktops_seen": (job.result or {}).get("summary", {}).get("desktops_seen"),
                "desktops_updated": (job.result or {}).get("summary", {}).get("desktops_updated"),
                "sql_queries": queries.get(job.pk),
                "aws_calls": sum(per_account_calls.get(account_id, {}).values()),
            }
        )
    window = 900.0
    figures = {
        "desktops": args.n,
        "accounts": args.accounts,
        "jobs_started": started,
        "workers": args.workers,
        "worker_mode": "separate Celery workers, one process each (w1@hostA, …)",
        "latency_ms": args.latency_ms,
        "rate_limit_per_second": args.rate,
        "wall_seconds": round(wall, 2),
        "window_seconds": window,
        "all_within_window": all(a["finished_after_start_seconds"] <= window for a in accounts),
        "all_succeeded": all(a["status"] == "SUCCEEDED" for a in accounts),
        "per_account_wall_seconds": spread([a["wall_seconds"] for a in accounts]),
        "per_account_finished_after_start_seconds": spread(
            [a["finished_after_start_seconds"] for a in accounts]
        ),
        "per_account_sql_queries": spread([float(q) for q in queries.values()]),
        "describe_workspaces_calls": calls.get("DescribeWorkspaces", 0),
        "describe_workspaces_lower_bound": sum(math.ceil(s / 25) for s in split(args.n, args.accounts)),
        "calls": calls,
        "per_account": accounts,
    }
    print(json.dumps(figures), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
