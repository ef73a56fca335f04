"""Recovery from a dead worker, measured: the time from SIGKILL of the pool process running a create
batch to the batch's re-delivery (its items claimed again by another delivery).

    .venv/bin/python bench/recovery.py [--samples 5] [--lease 60] [--sweep-seconds 5]
                                       [--heartbeat-seconds 2] [--stale-seconds 10] [--workdir DIR]

Starts everything it needs and stops it at the end (also on Ctrl-C): the simulator in this process, a
throwaway Redis on a free port, a Celery worker (one pool process, so the process to kill is known
without reading any new column) and beat, and a fresh PostgreSQL database (`--database`, by default
`partnerportal_bench_recovery`, dropped and made again).
Each sample asks for 25 desktops (one CreateWorkspaces, which the simulator holds for 4 s), SIGKILLs
the pool process once the batch is claimed, and times until the items' attempts go up (a new delivery
claimed them); then it waits for the job to finish before the next sample. Prints one JSON object on
stdout (the samples, their median, and the settings); progress goes to stderr.

It reads nothing the engine added for fast recovery, so the same script measures an older checkout
too (copy it there and run it with that checkout on PYTHONPATH); the heartbeat settings are then ignored.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/recovery.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402
from tests.integration.stack import CeleryProcess, RedisProcess, stack_environment  # noqa: E402

DATABASE_NAME = "partnerportal_bench_recovery"
CREATE_LATENCY_MS = 4000  # the create is in flight when the kill lands
BATCH = 25


def use_environment(env: dict[str, str]) -> None:
    """This process gets the stack's environment too: same database, broker, endpoint."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "ORCHESTRATION_")) and key not in env:
            del os.environ[key]
    os.environ.update(env)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def one_sample(world: dict, worker: CeleryProcess, timeout: float) -> dict:
    """Kill the pool process mid-batch; seconds until the batch is claimed again, and the job's end."""
    from orchestration.actors import Actor
    from orchestration.choices import JOB_TERMINAL_STATUSES
    from orchestration.models import Job, JobItem
    from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk

    job = desktop_create_bulk(
        actor=Actor.system("bench"),
        request=DesktopCreateRequest(
            customer=world["customer"],
            aws_account=world["aws_account"],
            directory=world["directory"],
            bundle=world["bundle"],
            count=BATCH,
        ),
    )
    items = JobItem.objects.filter(job=job)
    wait_for(
        lambda: items.filter(status="RUNNING", submitted_at__isnull=False).count() == BATCH, 60, "the claim"
    )
    attempts = max(items.values_list("attempts", flat=True))
    pids = worker.child_pids()
    killed_at = time.monotonic()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    log(f"job {job.pk}: killed pool process(es) {pids} mid-create")
    wait_for(lambda: items.filter(attempts__gt=attempts).exists(), timeout, "the re-delivery", interval=0.1)
    redelivered = time.monotonic() - killed_at
    log(f"job {job.pk}: re-delivered after {redelivered:.1f}s")

    wait_for(
        lambda: Job.objects.get(pk=job.pk).status in JOB_TERMINAL_STATUSES,
        timeout,
        "the job to finish",
        interval=0.25,
    )
    job.refresh_from_db()
    assert job.finished_at is not None
    return {
        "seconds_to_redelivery": round(redelivered, 2),
        "job_seconds": round((job.finished_at - job.created_at).total_seconds(), 2),
        "job_status": job.status,
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--lease", type=int, default=60, help="JOB_ITEM_LEASE_SECONDS")
    parser.add_argument("--sweep-seconds", type=float, default=5.0, help="JOBS_SWEEP_INTERVAL_SECONDS")
    parser.add_argument("--heartbeat-seconds", type=float, default=2.0, help="JOB_WORKER_HEARTBEAT_SECONDS")
    parser.add_argument("--stale-seconds", type=float, default=10.0, help="JOB_WORKER_STALE_SECONDS")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on a sample after this long")
    parser.add_argument("--workdir", type=Path, default=None, help="where logs go (default: a new temp dir)")
    parser.add_argument("--database", default=DATABASE_NAME, help="dropped and made again for the run")
    args = parser.parse_args()

    stdout, sys.stdout = sys.stdout, sys.stderr  # only the JSON goes to stdout
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work directory (worker and beat logs): {workdir}")

    from simulator.control import SimulatorControl
    from simulator.server import SimulatorServer
    from simulator.state import StartupOptions

    server = redis = worker = beat = None
    samples: list[dict] = []
    try:
        server = SimulatorServer(
            "127.0.0.1", 0, StartupOptions(time_scale=1.0, seed=0, recorded_calls=100)
        ).start()
        sim = SimulatorControl(server.endpoint_url)
        redis = RedisProcess(workdir).start()
        settings = {
            "JOB_ITEM_LEASE_SECONDS": str(args.lease),
            "JOBS_SWEEP_INTERVAL_SECONDS": str(args.sweep_seconds),
            "JOB_WORKER_HEARTBEAT_SECONDS": str(args.heartbeat_seconds),
            "JOB_WORKER_STALE_SECONDS": str(args.stale_seconds),
            "JOB_LOST_MESSAGE_SECONDS": "600",  # only the dead worker's recovery is measured
            "JOB_POLL_INTERVAL_SECONDS": "1",
            "AWS_READ_TIMEOUT": "30",
        }
        env = stack_environment(
            database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
            broker_url=redis.url,
            aws_endpoint=server.endpoint_url,
            workdir=workdir,
            extra=settings,
        )
        use_environment(env)
        import django

        django.setup()
        from django.core.management import call_command

        from tests.integration.world import aws_runs_fast, onboard_demo_customer

        recreate_database(args.database)
        call_command("migrate", verbosity=0)
        world = onboard_demo_customer(sim, name="Bench", slug="bench")
        aws_runs_fast(sim)
        sim.set_faults(operations={"CreateWorkspaces": {"latency_ms": CREATE_LATENCY_MS}})
        worker = CeleryProcess("worker", env, workdir, "worker", concurrency=1).start()
        beat = CeleryProcess("beat", env, workdir, "beat").start()
        for number in range(args.samples):
            samples.append(one_sample(world, worker, args.timeout))
            log(f"sample {number + 1}/{args.samples}: {samples[-1]}")
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

    waits = [s["seconds_to_redelivery"] for s in samples]
    result = {
        "samples": samples,
        "median_seconds_to_redelivery": statistics.median(waits),
        "max_seconds_to_redelivery": max(waits),
        "median_job_seconds": statistics.median(s["job_seconds"] for s in samples),
        "settings": {**settings, "create_latency_ms": CREATE_LATENCY_MS, "batch": BATCH},
        "workdir": str(workdir),
    }
    print(json.dumps(result), file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
