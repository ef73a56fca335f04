"""Scale-out: one multi-account create request run by 1, 2 and 4 separate workers, and the same under AWS's
per-account rate limit.

    .venv/bin/python bench/scaleout.py [--n 10000] [--accounts 10] [--steps 1,2,4] [--latency-ms 50]
                                       [--provisioning-seconds 5] [--rate 5] [--burst 10]
                                       [--rate-workers 4] [--skip-rate-limited] [--workdir DIR]

Starts the simulator in this process (time scale 1, `--latency-ms` per WorkSpaces call, provisioning in
`--provisioning-seconds` of wall time), a Redis on a free port, a beat (the jobs sweeper) and drops and
recreates the database `partnerportal_bench_scaleout`; onboards `--accounts` customers, each in a
simulated account of its own. Each step starts W Celery workers of one process each, with node names of
their own (w1@hostA, w2@hostB, …) as separate machines would be, asks for N desktops split evenly over
the accounts (one create job per account, all asked for at once), times it until every job is finished,
and stops the workers. Prints the wall time and the speed-up over the first step, and which worker ids
claimed items (`worker_ids_seen`, node name:pid, each distinct) and how long after the request
the first item was claimed.

Then, unless --skip-rate-limited, the same N desktops once more with `--rate-workers` workers while the
simulator enforces AWS's per-account rate limit (`--rate` calls a second, bucket `--burst`, per account
and Region, answering ThrottlingException) and the workers' own limiter is set to the same numbers
(AWS_RATE_LIMIT_PER_SECOND / AWS_RATE_LIMIT_BURST; `--client-rate` / `--client-burst` set it apart): `throttled_calls` (goal 0) and, per account, when its
last CreateWorkspaces was submitted and when all its desktops were AVAILABLE (job finished).
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/scaleout.py` puts bench/ on the path, not the root

from bench.bulk_create import WORKER_SETTINGS, use_environment  # noqa: E402
from bench.common import log, recreate_database  # noqa: E402
from bench.fleet import seconds, split, spread, workers_start, workers_stop  # noqa: E402
from tests.integration.stack import CeleryProcess, RedisProcess, stack_environment  # noqa: E402

DATABASE_NAME = "partnerportal_bench_scaleout"
QUEUES = "interactive,bulk,poll,periodic"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run_step(customers: list[dict], n: int, timeout: float) -> dict:
    """Ask for `n` desktops over the accounts at once (a job each), wait until every job is finished."""
    from django.db.models import Max

    from orchestration.actors import Actor
    from orchestration.choices import JOB_TERMINAL_STATUSES
    from orchestration.models import Job, JobItem, WorkerHeartbeat
    from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk

    began = time.monotonic()
    jobs = [
        desktop_create_bulk(
            actor=Actor.system("bench"),
            request=DesktopCreateRequest(
                customer=world["customer"],
                aws_account=world["aws_account"],
                directory=world["directory"],
                bundle=world["bundle"],
                count=share,
            ),
        )
        for world, share in zip(customers, split(n, len(customers)), strict=True)
    ]
    requested = time.monotonic() - began
    ids = [job.pk for job in jobs]
    last_report = 0.0
    while Job.objects.filter(pk__in=ids).exclude(status__in=JOB_TERMINAL_STATUSES).exists():
        now = time.monotonic()
        if now - began > timeout:
            raise TimeoutError(f"jobs not finished after {timeout:.0f}s")
        if now - last_report >= 10:
            last_report = now
            done = JobItem.objects.filter(job_id__in=ids, status="SUCCEEDED").count()
            log(f"  {now - began:.0f}s: {done}/{n} items succeeded")
        time.sleep(0.25)
    wall = time.monotonic() - began
    finished = list(Job.objects.filter(pk__in=ids).select_related("customer").order_by("pk"))
    start = min(job.created_at for job in finished)
    submitted = dict(
        JobItem.objects.filter(job_id__in=ids)
        .values("job_id")
        .annotate(last=Max("submitted_at"))
        .values_list("job_id", "last")
    )
    # Every process that claimed items beat under its worker id (node name:pid) since the request.
    claimers = sorted(WorkerHeartbeat.objects.filter(started_at__gte=start).values_list("worker", flat=True))
    first_claim = min((job.started_at for job in finished if job.started_at), default=None)
    per_account = [
        {
            "account": job.params.get("aws_account_id") or job.customer.slug,
            "status": job.status,
            "last_create_submitted_seconds": round((submitted[job.pk] - start).total_seconds(), 3)
            if submitted.get(job.pk)
            else None,
            "all_available_seconds": seconds(job.finished_at, start),
        }
        for job in finished
    ]
    return {
        "wall_seconds": round(wall, 2),
        "request_seconds": round(requested, 3),
        "all_succeeded": all(job.status == "SUCCEEDED" for job in finished),
        "worker_ids_seen": claimers,
        # From the request to the first item claimed: the time the new workers took to take work.
        "first_claim_seconds": seconds(first_claim, start),
        "per_account": per_account,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="desktops per step, over all accounts")
    parser.add_argument("--accounts", type=int, default=10, help="customers, each in an account of its own")
    parser.add_argument("--steps", default="1,2,4", help='worker counts, one step each ("": none)')
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="simulator latency per WorkSpaces call"
    )
    parser.add_argument("--provisioning-seconds", type=float, default=5.0, help="PENDING -> AVAILABLE")
    parser.add_argument(
        "--rate", type=float, default=5.0, help="rate-limited run: calls a second per account"
    )
    parser.add_argument("--burst", type=int, default=10, help="rate-limited run: bucket size")
    parser.add_argument("--client-rate", type=float, default=None, help="workers' limiter (default --rate)")
    parser.add_argument("--client-burst", type=int, default=None, help="workers' bucket (default --burst)")
    parser.add_argument("--rate-workers", type=int, default=4, help="rate-limited run: workers")
    parser.add_argument("--skip-rate-limited", action="store_true", help="only the scale-out steps")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on a step after this long")
    parser.add_argument("--workdir", type=Path, default=None, help="where logs go (default: a new temp dir)")
    args = parser.parse_args()
    steps = [int(step) for step in args.steps.split(",") if step]
    if not 1 <= args.accounts <= 200 or args.n // args.accounts > 5000 or min(steps, default=1) < 1:
        parser.error("--accounts 1-200, at most 5000 desktops per account, worker counts >= 1")

    stdout, sys.stdout = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work directory (worker and beat logs): {workdir}")

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = SimulatorServer(
        "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=100)
    ).start()
    redis = RedisProcess(workdir).start()
    workers: list[CeleryProcess] = []
    beat: CeleryProcess | None = None
    results: dict = {"steps": []}
    try:
        sim = SimulatorControl(server.endpoint_url, timeout=300)
        env = stack_environment(
            database_url=f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}",
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            extra={
                **WORKER_SETTINGS,
                "AWS_RATE_LIMIT_REDIS_URL": redis.url,
                "LOG_LEVEL": "WARNING",
                # As bulk_create.py: a new desktop is first looked at once it can be ready, so the
                # DescribeWorkspaces calls an account's bucket pays for are the floor, not early looks.
                "JOB_CREATE_FIRST_POLL_SECONDS": str(args.provisioning_seconds),
            },
        )
        use_environment(env)
        import django

        django.setup()
        from django.core.management import call_command

        from tests.integration.world import onboard_fleet_customers

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        customers = onboard_fleet_customers(sim, args.accounts)
        sim.set_durations(provisioning=args.provisioning_seconds)
        sim.set_faults(latency_ms=args.latency_ms)
        beat = CeleryProcess("beat", env, workdir, "beat").start()

        for count in steps:
            workers = workers_start(count, env, workdir, QUEUES)
            log(f"step: {count} worker(s), {args.n} desktops over {args.accounts} accounts")
            load = os.getloadavg()[0]
            step = run_step(customers, args.n, args.timeout)
            workers_stop(workers)
            workers = []
            step.update(
                workers=count,
                load_average_at_start=round(load, 2),
                load_average_at_end=round(os.getloadavg()[0], 2),
            )
            step["speedup"] = (
                round(results["steps"][0]["wall_seconds"] / step["wall_seconds"], 2)
                if results["steps"]
                else 1.0
            )
            log(f"step: {count} worker(s): {step['wall_seconds']}s, speed-up {step['speedup']}")
            del step["per_account"]
            results["steps"].append(step)

        if not args.skip_rate_limited:
            limited = {
                **env,
                "AWS_RATE_LIMIT_PER_SECOND": str(
                    args.client_rate if args.client_rate is not None else args.rate
                ),
                "AWS_RATE_LIMIT_BURST": str(
                    args.client_burst if args.client_burst is not None else args.burst
                ),
            }
            sim.set_rate_limit(args.rate, burst=args.burst)
            sim.clear_calls()
            workers = workers_start(args.rate_workers, limited, workdir, QUEUES)
            log(
                f"rate-limited: {args.rate_workers} workers, AWS limit {args.rate}/s burst {args.burst} per account"
            )
            load = os.getloadavg()[0]
            step = run_step(customers, args.n, args.timeout)
            workers_stop(workers)
            workers = []
            limit = sim.rate_limit()
            results["rate_limited"] = {
                "workers": args.rate_workers,
                "rate_per_second": args.rate,
                "burst": args.burst,
                "client_rate_per_second": float(limited["AWS_RATE_LIMIT_PER_SECOND"]),
                "client_burst": int(limited["AWS_RATE_LIMIT_BURST"]),
                "throttled_calls": limit["throttled_total"],
                "throttled_by_account": limit["throttled"],
                "calls_allowed": sum(limit["allowed"].values()),
                "calls": sim.call_counts(),  # every account's, by operation (the floor: 40 + 40 per 1,000)
                "wall_seconds": step["wall_seconds"],
                "first_claim_seconds": step["first_claim_seconds"],
                "worker_ids_seen": step["worker_ids_seen"],
                "all_succeeded": step["all_succeeded"],
                "last_create_submitted_seconds": spread(
                    [
                        a["last_create_submitted_seconds"]
                        for a in step["per_account"]
                        if a["last_create_submitted_seconds"] is not None
                    ]
                ),
                "all_available_seconds": spread([a["all_available_seconds"] for a in step["per_account"]]),
                "per_account": step["per_account"],
                "load_average_at_start": round(load, 2),
                "load_average_at_end": round(os.getloadavg()[0], 2),
            }
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        return 130
    finally:
        workers_stop(workers)
        if beat is not None:
            beat.stop()
        redis.stop()
        server.stop()

    figures = {
        "n": args.n,
        "accounts": args.accounts,
        "latency_ms": args.latency_ms,
        "provisioning_seconds": args.provisioning_seconds,
        "worker_mode": "separate Celery workers, one process each, node names w1@hostA, w2@hostB, …",
        **results,
        "workdir": str(workdir),
    }
    print(json.dumps(figures), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
