"""The idle-timeout sweep, measured: one sweep over N MANUAL desktops against the simulator.

    .venv/bin/python bench/idle_sweep.py [--n 10000] [--connected-fraction 0.1] [--latency-ms 0]
    .venv/bin/python bench/idle_sweep.py --accounts 100 --n 100000 --workers 2 [--latency-ms 50] [--rate 0]

With --accounts the N desktops are spread over that many customers, each in a simulated account of its
own, and the window's claim fans out as it does in production: one `orchestration.idle_sweep_account`
task per account on the periodic queue, taken by --workers separate Celery workers (one process each,
node names w1@hostA, w2@hostB, …). It prints, per account and overall, the wall time, the SQL queries
(counted inside the workers, bench/sql_counter.py), the AWS calls, and whether every account finished
within the 300 s window after the claim. Without --accounts (one account):

Starts the simulator in this process (time scale 1: AWS's session timestamps are wall time), drops and
makes the PostgreSQL database `partnerportal_bench_idle`, onboards a customer with a default power
policy (stop after 30 minutes disconnected or 60 minutes without a session), makes N WorkSpaces that
have been AVAILABLE for two hours (a fraction of them with a user connected), then runs one sweep in
this process, counting its SQL queries and AWS calls and timing it. Prints one JSON object on stdout.
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
    sys.path.insert(0, str(ROOT))  # `python bench/idle_sweep.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from bench.fleet import seconds, split, spread, sql_lines, workers_start, workers_stop  # noqa: E402
from tests.integration.stack import RedisProcess, stack_environment  # noqa: E402

DATABASE_NAME = "partnerportal_bench_idle"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """One piece on purpose: the run's steps in the order they happen (simulator, database, fleet, one
    measured sweep, JSON), so each printed figure reads next to the setup that produced it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="MANUAL desktops AVAILABLE for two hours")
    parser.add_argument("--connected-fraction", type=float, default=0.1, help="share with a live session")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency per WorkSpaces call")
    parser.add_argument("--accounts", type=int, default=0, help="spread over this many accounts, fan out")
    parser.add_argument("--workers", type=int, default=2, help="with --accounts: separate Celery workers")
    parser.add_argument("--rate", type=float, default=0.0, help="with --accounts: AWS_RATE_LIMIT_PER_SECOND")
    parser.add_argument("--timeout", type=float, default=900.0, help="with --accounts: give up after this")
    args = parser.parse_args()
    if args.n < 1 or not 0 <= args.connected_fraction <= 1:
        parser.error("--n is at least 1 and --connected-fraction is 0 to 1")
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
    try:
        sim = SimulatorControl(server.endpoint_url)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
                "DATABASE_URL": DATABASE_URL,
                "AWS_ENDPOINT_URL": server.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                # The limiter would pace the calls; this measures the sweep.
                "AWS_RATE_LIMIT_PER_SECOND": "0",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from orchestration.services.power import idle_sweep
        from tenants.models import PowerPolicy
        from tests.integration.world import make_available_desktops, onboard_demo_customer

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        PowerPolicy.objects.create(
            customer=world["customer"],
            name="office",
            is_default=True,
            stop_after_disconnect_minutes=30,
            stop_after_no_session_minutes=60,
        )
        sim.set_durations(provisioning=0)
        started = time.monotonic()
        desktops = make_available_desktops(world, args.n)
        connected = desktops[:: max(1, round(1 / args.connected_fraction))] if args.connected_fraction else []
        for desktop in connected:
            assert desktop.workspace_id is not None, "make_available_desktops records each WorkSpace id"
            sim.script_connections(desktop.workspace_id, [(-60, "CONNECTED")])
        log(f"{len(desktops)} desktops ({len(connected)} connected) in {time.monotonic() - started:.1f}s")
        sim.set_faults(latency_ms=args.latency_ms)
        sim.clear_calls()

        with CaptureQueriesContext(connection) as queries:
            began = time.monotonic()
            report = idle_sweep(now=timezone.now())
            wall = time.monotonic() - began
        calls = sim.call_counts()
        figures = {
            "desktops": args.n,
            "connected": len(connected),
            "latency_ms": args.latency_ms,
            "candidates": report.candidates,
            "stopped": report.stopped,
            "stop_failed": report.stop_failed,
            "sql_queries": len(queries),
            "describe_connection_status_calls": calls.get("DescribeWorkspacesConnectionStatus", 0),
            "describe_connection_status_lower_bound": math.ceil(report.checked_with_aws / 25),
            "stop_workspaces_calls": calls.get("StopWorkspaces", 0),
            "stop_workspaces_lower_bound": math.ceil(report.to_stop / 25),
            "wall_seconds": round(wall, 2),
        }
    finally:
        server.stop()
    print(json.dumps(figures, indent=2), file=stdout)
    return 0


def fan_out(args: argparse.Namespace) -> int:
    """The production path over many accounts: the claim publishes, separate workers sweep one account
    each at a time; the figures come from the accounts' ScheduleRun rows and the workers' SQL counts."""
    stdout, sys.stdout = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="bench-idle-fanout-"))
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
    try:
        sim = SimulatorControl(server.endpoint_url, timeout=300)
        env = stack_environment(
            database_url=DATABASE_URL,
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            extra={
                "AWS_RATE_LIMIT_PER_SECOND": str(args.rate),
                "AWS_RATE_LIMIT_REDIS_URL": redis.url,
                "IDLE_SWEEP_INTERVAL_SECONDS": "300",
                "BENCH_SQL_LOG": str(sql_log),
                "LOG_LEVEL": "INFO",
            },
        )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import timezone

        from orchestration.models import ScheduleRun
        from orchestration.services.power import idle_sweep_run
        from tenants.models import PowerPolicy
        from tests.integration.world import make_available_desktops, onboard_fleet_customers

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        made = time.monotonic()
        customers = onboard_fleet_customers(sim, args.accounts)
        sim.set_durations(provisioning=0)
        connected = 0
        for world, share in zip(customers, split(args.n, args.accounts), strict=True):
            PowerPolicy.objects.create(
                customer=world["customer"],
                name="office",
                is_default=True,
                stop_after_disconnect_minutes=30,
                stop_after_no_session_minutes=60,
            )
            desktops = make_available_desktops(world, share)
            step = max(1, round(1 / args.connected_fraction)) if args.connected_fraction else 0
            for desktop in desktops[::step] if step else []:
                assert desktop.workspace_id is not None
                sim.script_connections(desktop.workspace_id, [(-60, "CONNECTED")])
                connected += 1
        log(
            f"{args.n} desktops ({connected} connected) in {args.accounts} accounts made in "
            f"{time.monotonic() - made:.1f}s"
        )
        workers = workers_start(args.workers, env, workdir, "periodic")
        log(f"{args.workers} workers started")
        sim.set_faults(latency_ms=args.latency_ms)
        sim.clear_calls()

        now = timezone.now()
        began = time.monotonic()
        claim = idle_sweep_run(now=now)
        claimed_at = timezone.now()
        runs = ScheduleRun.objects.filter(
            schedule__startswith="idle-sweep:", window_start=claim["window_start"]
        )
        while runs.filter(finished_at__isnull=False).count() < claim["accounts"]:
            if time.monotonic() - began > args.timeout:
                raise TimeoutError(f"accounts not finished after {args.timeout:.0f}s")
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

    queries = {
        line["args"][0]: line["queries"]
        for line in sql_lines(sql_log)
        if line["task"] == "orchestration.idle_sweep_account"
    }
    accounts = []
    for run in runs.order_by("schedule"):
        account_id = run.schedule.split(":", 1)[1]
        accounts.append(
            {
                "account": account_id,
                "wall_seconds": seconds(run.finished_at, run.created_at),
                "finished_after_claim_seconds": seconds(run.finished_at, now),
                "candidates": run.result.get("candidates"),
                "stopped": run.result.get("stopped"),
                "sql_queries": queries.get(account_id),
                "aws_calls": sum(per_account_calls.get(account_id, {}).values()),
                "errors": run.result.get("errors"),
            }
        )
    window = 300.0
    figures = {
        "desktops": args.n,
        "accounts": args.accounts,
        "workers": args.workers,
        "worker_mode": "separate Celery workers, one process each (w1@hostA, …)",
        "latency_ms": args.latency_ms,
        "rate_limit_per_second": args.rate,
        "connected": connected,
        "claim_seconds": round((claimed_at - now).total_seconds(), 3),
        "wall_seconds": round(wall, 2),
        "window_seconds": window,
        "all_within_window": all(a["finished_after_claim_seconds"] <= window for a in accounts),
        "stopped": sum(a["stopped"] or 0 for a in accounts),
        "per_account_wall_seconds": spread([a["wall_seconds"] for a in accounts]),
        "per_account_finished_after_claim_seconds": spread(
            [a["finished_after_claim_seconds"] for a in accounts]
        ),
        "per_account_sql_queries": spread([float(q) for q in queries.values()]),
        "describe_connection_status_calls": calls.get("DescribeWorkspacesConnectionStatus", 0),
        "stop_workspaces_calls": calls.get("StopWorkspaces", 0),
        "per_account": accounts,
    }
    print(json.dumps(figures), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
