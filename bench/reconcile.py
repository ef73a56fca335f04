"""A reconciliation of N desktops, measured against the delivery's time limits.

    .venv/bin/python bench/reconcile.py [--n 10000] [--rate 5] [--latency-ms 0]

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
from tests.integration.stack import RedisProcess  # noqa: E402

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
    args = parser.parse_args()

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


if __name__ == "__main__":
    sys.exit(main())
