"""The idle-timeout sweep, measured: one sweep over N MANUAL desktops against the simulator.

    .venv/bin/python bench/idle_sweep.py [--n 10000] [--connected-fraction 0.1] [--latency-ms 0]

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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/idle_sweep.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402

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
    args = parser.parse_args()
    if args.n < 1 or not 0 <= args.connected_fraction <= 1:
        parser.error("--n is at least 1 and --connected-fraction is 0 to 1")

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


if __name__ == "__main__":
    sys.exit(main())
