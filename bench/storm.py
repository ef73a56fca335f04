"""One customer's click during another customer's storm: from "start my desktop" to StartWorkspaces.

    .venv/bin/python bench/storm.py [--storm 5000] [--clicks 20] [--latency-ms 50] [--workers 2]
                                    [--interactive-worker] [--workdir DIR]

Starts the simulator in this process (time scale 1, `--latency-ms` per WorkSpaces call), a Redis on a free
port, a Celery worker (`--workers` processes, every queue) and beat, and drops and recreates the database
`partnerportal_bench_storm`. Two customers in two AWS accounts: the clicker has `2 × --clicks` STOPPED
desktops. First, quiet: `--clicks` starts of one desktop each, one after another, each timed from the
request to the StartWorkspaces call the simulator records for that desktop. Then the storm: the other
customer asks for `--storm` new desktops, and while that job runs the same number of clicks is timed
again. With `--interactive-worker` a second worker with one process takes only the interactive queue
(one-desktop actions), as a deployment can run it. Prints p50/p95/max of both and their ratio.
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
    sys.path.insert(0, str(ROOT))  # `python bench/storm.py` puts bench/ on the path, not the root

from bench.bulk_create import WORKER_SETTINGS, use_environment  # noqa: E402
from bench.common import log, recreate_database  # noqa: E402
from tests.integration.stack import CeleryProcess, RedisProcess, stack_environment  # noqa: E402

DATABASE_NAME = "partnerportal_bench_storm"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)], 3)


def figures(seconds: list[float]) -> dict:
    return {
        "p50_seconds": percentile(seconds, 0.5),
        "p95_seconds": percentile(seconds, 0.95),
        "max_seconds": round(max(seconds), 3),
        "samples": [round(s, 3) for s in seconds],
    }


def stopped_desktops(world: dict, count: int) -> list:
    """`count` desktops of the clicker, STOPPED in AWS and in our rows."""
    from orchestration.aws.workspaces import workspaces_stop
    from orchestration.services.accounts import account_access
    from tenants.models import Desktop
    from tests.integration.world import make_available_desktops

    desktops = make_available_desktops(world, count)
    access = account_access(world["aws_account"], region=world["directory"].region)
    ids = [d.workspace_id for d in desktops if d.workspace_id]
    for start in range(0, len(ids), 25):
        workspaces_stop(access, ids[start : start + 25])
    Desktop.objects.filter(pk__in=[d.pk for d in desktops]).update(state="STOPPED")
    return list(Desktop.objects.filter(pk__in=[d.pk for d in desktops]).order_by("pk"))


def click(sim, world: dict, desktop, timeout: float = 120.0) -> float:
    """Start one desktop as its customer would; seconds from the request to AWS's StartWorkspaces."""
    from orchestration.actors import Actor
    from orchestration.services.desktop_actions import desktop_action_bulk

    started = sim.now()
    desktop_action_bulk(
        actor=Actor.system("bench-click"), customer=world["customer"], desktops=[desktop], action="start"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in sim.calls("StartWorkspaces"):
            requests = call["request"].get("StartWorkspaceRequests", [])
            if any(r.get("WorkspaceId") == desktop.workspace_id for r in requests):
                return (datetime.fromisoformat(call["time"]) - started).total_seconds()
        time.sleep(0.02)
    raise TimeoutError(f"no StartWorkspaces for {desktop.workspace_id} after {timeout:.0f}s")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storm", type=int, default=5000, help="desktops the other customer asks for")
    parser.add_argument("--clicks", type=int, default=20, help="timed clicks, quiet and during the storm")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--provisioning-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="processes of the worker taking every queue")
    parser.add_argument(
        "--interactive-worker", action="store_true", help="one more process, interactive only"
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    stdout, sys.stdout = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-storm-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work directory (worker and beat logs): {workdir}")

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = redis = None
    processes: list[CeleryProcess] = []
    try:
        server = SimulatorServer(
            "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=20_000)
        ).start()
        sim = SimulatorControl(server.endpoint_url)
        redis = RedisProcess(workdir).start()
        env = stack_environment(
            database_url=f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}",
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            extra=WORKER_SETTINGS,
        )
        use_environment(env)
        import django

        django.setup()
        from django.core.management import call_command

        from orchestration.actors import Actor
        from orchestration.choices import JOB_TERMINAL_STATUSES
        from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
        from tests.integration.world import onboard_demo_customer

        log(f"database {DATABASE_NAME}: dropping, creating, migrating")
        recreate_database(DATABASE_NAME)
        call_command("migrate", verbosity=0)
        storm_world = onboard_demo_customer(sim, name="Storm", slug="storm")
        clicker = onboard_demo_customer(
            sim, name="Clicker", slug="clicker", demo_index=1, world=storm_world["world"]
        )
        sim.set_durations(provisioning=0, stopping=0)
        desktops = stopped_desktops(clicker, 2 * args.clicks)
        sim.set_durations(provisioning=args.provisioning_seconds, starting=60)
        sim.set_faults(latency_ms=args.latency_ms)

        processes.append(CeleryProcess("worker", env, workdir, "worker", concurrency=args.workers).start())
        if args.interactive_worker:
            processes.append(
                CeleryProcess(
                    "worker", env, workdir, "interactive", concurrency=1, queues="interactive"
                ).start()
            )
        processes.append(CeleryProcess("beat", env, workdir, "beat").start())

        quiet = []
        for desktop in desktops[: args.clicks]:
            quiet.append(click(sim, clicker, desktop))
            time.sleep(0.3)
        log(f"quiet: {figures(quiet)}")

        fields = {key: storm_world[key] for key in ("customer", "aws_account", "directory", "bundle")}
        job = desktop_create_bulk(
            actor=Actor.system("bench-storm"), request=DesktopCreateRequest(**fields, count=args.storm)
        )
        storm, during = [], 0
        for desktop in desktops[args.clicks :]:
            storm.append(click(sim, clicker, desktop))
            job.refresh_from_db()
            during += job.status not in JOB_TERMINAL_STATUSES
            time.sleep(0.3)
        log(f"storm: {figures(storm)}")
        load = os.getloadavg()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for process in reversed(processes):
            process.stop()
        if redis is not None:
            redis.stop()
        if server is not None:
            server.stop()

    result = {
        "storm_desktops": args.storm,
        "latency_ms": args.latency_ms,
        "workers": args.workers,
        "interactive_worker": args.interactive_worker,
        "quiet": figures(quiet),
        "storm": figures(storm),
        "clicks_while_storm_job_ran": during,
        "p95_ratio": round(figures(storm)["p95_seconds"] / max(figures(quiet)["p95_seconds"], 1e-3), 2),
        "load_average": [round(x, 2) for x in load],
        "workdir": str(workdir),
    }
    print(json.dumps(result), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
