"""Pool churn, measured: N assignments and releases over a 500-desktop pool with a buffer of 20.

    .venv/bin/python bench/pool_churn.py [--assignments 200] [--pool-size 500] [--buffer 20] \
        [--latency-ms 50] [--manage-every 10]

Starts the simulator in this process (every WorkSpaces call takes `--latency-ms`; starts, stops and
rebuilds finish at once), a Redis of its own for the job messages, and drops and makes the PostgreSQL
database `partnerportal_bench_pools`. It onboards a customer, makes a pool of `--pool-size` MANUAL
desktops (max = pool size) with all but `--buffer` of them held by users, then churns: each step one
new user asks for a desktop (timed: `pool_assign`, the API's service) and the user who has held one
longest gives theirs back. Every `--manage-every` steps a pool-manager window passes: the manager's job
runs in this process, and so do the jobs it orders (rebuilds of released desktops, starts, creates),
with their polls, against the simulator. Prints one JSON object on stdout.

Figures: `assign_p50_seconds` and `assign_p95_seconds` over the assignments that found a warm desktop;
`aws_calls_per_assignment` (every WorkSpaces call of the churn, manager's work included, divided by N);
`lowest_buffer_seen` (warm desktops right after an assignment); `desktops_beyond_max` (the most the
pool ever held above its maximum, counted after every step; must be 0).
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/pool_churn.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from tests.integration.stack import RedisProcess  # noqa: E402

DATABASE_NAME = "partnerportal_bench_pools"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    """One piece on purpose, like the other benchmarks: setup, churn, JSON, in the order they happen."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assignments", type=int, default=200, help="assignments (and as many releases)")
    parser.add_argument("--pool-size", type=int, default=500, help="desktops in the pool (also its max)")
    parser.add_argument("--buffer", type=int, default=20, help="warm desktops the pool keeps")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="simulator latency per WorkSpaces call"
    )
    parser.add_argument("--manage-every", type=int, default=10, help="assignments per pool-manager window")
    args = parser.parse_args()
    if args.assignments < 1 or not 0 < args.buffer < args.pool_size or args.manage_every < 1:
        parser.error("--assignments >= 1, 0 < --buffer < --pool-size, --manage-every >= 1")

    stdout, sys.stdout = sys.stdout, sys.stderr  # nothing but the JSON reaches stdout
    signal.signal(signal.SIGTERM, _interrupt)

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = SimulatorServer(
        "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=100)
    ).start()
    redis = RedisProcess(Path(tempfile.mkdtemp(prefix="bench-pools-"))).start()
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
                # The limiter would pace the calls; this measures the pool.
                "AWS_RATE_LIMIT_PER_SECOND": "0",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        from orchestration.actors import Actor
        from orchestration.choices import JOB_TERMINAL_STATUSES, JobKind
        from orchestration.models import Job
        from orchestration.services.jobs import job_items_run, job_poll
        from orchestration.services.pools import pool_assign, pool_counts, pool_release, pools_manage_due
        from tenants.choices import UNDEFINED_USER
        from tenants.models import Desktop, Pool, PoolDesktop
        from tests.integration.world import make_available_desktops, onboard_demo_customer

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        sim.set_durations(provisioning=0, starting=0, stopping=0, rebuilding=0, terminating=0)
        made = time.monotonic()
        desktops = make_available_desktops(world, args.pool_size)
        Desktop.objects.filter(pk__in=[d.pk for d in desktops]).update(user_name=UNDEFINED_USER)
        pool = Pool.objects.create(
            customer=world["customer"],
            aws_account=world["aws_account"],
            region=world["directory"].region,
            directory=world["directory"],
            bundle=world["bundle"],
            name="bench",
            min_size=0,
            max_size=args.pool_size,
            buffer=args.buffer,
        )
        now = timezone.now()
        held = args.pool_size - args.buffer
        PoolDesktop.objects.bulk_create(
            PoolDesktop(
                pool=pool,
                desktop=desktop,
                aws_account=world["aws_account"],
                assigned_user=f"seed{number:05d}" if number < held else None,
                assigned_at=now if number < held else None,
            )
            for number, desktop in enumerate(desktops)
        )
        holders = [f"seed{number:05d}" for number in range(held)]
        log(f"pool of {args.pool_size} ({held} held, {args.buffer} warm) in {time.monotonic() - made:.1f}s")
        sim.set_faults(latency_ms=args.latency_ms)
        sim.clear_calls()

        actor = Actor.system("bench")
        clock = now
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lowest_buffer = args.buffer
        beyond_max = 0
        jobs_run = 0

        def run_jobs_until_done(first_job_id: int) -> int:
            """Every job made since `first_job_id` (the manager's and those it ordered), in this process."""
            ran = 0
            while True:
                waiting = list(
                    Job.objects.filter(pk__gte=first_job_id).exclude(status__in=JOB_TERMINAL_STATUSES)
                )
                if not waiting:
                    return ran
                for job in waiting:
                    pending = list(job.items.filter(status="PENDING").values_list("pk", flat=True))
                    if pending:
                        job_items_run(job_id=job.pk, item_ids=pending)
                        ran += 1
                    elif job.kind != JobKind.POOL_MANAGE:
                        job_poll(job_id=job.pk)

        started = time.monotonic()
        for step in range(args.assignments):
            if step % args.manage_every == 0:
                clock += timedelta(seconds=60)
                first = (Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
                pools_manage_due(now=clock)
                jobs_run += run_jobs_until_done(first)
            user = f"user{step:05d}"
            began = time.perf_counter()
            answer = pool_assign(actor=actor, pool=pool, user_name=user)
            elapsed = time.perf_counter() - began
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            if answer.status == "assigned":
                latencies.append(elapsed)
            holders.append(user)
            counts = pool_counts(pool)
            lowest_buffer = min(lowest_buffer, counts.warm)
            beyond_max = max(beyond_max, counts.size - pool.max_size)
            pool_release(actor=actor, pool=pool, user_name=holders.pop(0))
        churn_seconds = time.monotonic() - started
        calls = sim.call_counts()
        aws_calls = sum(calls.values())
        figures = {
            "assignments": args.assignments,
            "pool_size": args.pool_size,
            "buffer": args.buffer,
            "latency_ms": args.latency_ms,
            "manage_every": args.manage_every,
            "answers": statuses,
            "assign_p50_seconds": round(statistics.median(latencies), 4) if latencies else None,
            "assign_p95_seconds": round(_percentile(latencies, 0.95), 4) if latencies else None,
            "aws_calls_per_assignment": round(aws_calls / args.assignments, 2),
            "aws_calls": calls,
            "lowest_buffer_seen": lowest_buffer,
            "desktops_beyond_max": max(0, beyond_max),
            "final_counts": vars(pool_counts(pool)),
            "jobs_delivered": jobs_run,
            "churn_wall_seconds": round(churn_seconds, 2),
        }
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        redis.stop()
        server.stop()
    print(json.dumps(figures, indent=2), file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
