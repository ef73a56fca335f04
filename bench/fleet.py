"""What the fleet benchmarks share (idle_sweep.py and reconcile.py with --accounts, scaleout.py): separate
Celery workers standing for separate machines, the SQL each task ran, and figures per account."""

import json
import math
import statistics
import string
from datetime import datetime
from pathlib import Path

from tests.integration.stack import CeleryProcess

# Loaded into every worker: one JSON line per task with the SQL statements it ran (bench/sql_counter.py).
SQL_COUNTER = ("--include", "bench.sql_counter")


def worker_node(number: int) -> str:
    """The node name of the number-th worker (1-based): w1@hostA, w2@hostB, … as on separate machines."""
    return f"w{number}@host{string.ascii_uppercase[(number - 1) % 26]}"


def workers_start(
    count: int, env: dict[str, str], workdir: Path, queues: str, concurrency: int = 1
) -> list[CeleryProcess]:
    """`count` Celery workers of `concurrency` processes each, every one with a node name of its own."""
    workers = []
    for number in range(1, count + 1):
        worker = CeleryProcess(
            "worker",
            env,
            workdir,
            f"w{number}",
            concurrency=concurrency,
            queues=queues,
            node=worker_node(number),
            extra_args=SQL_COUNTER,
        )
        workers.append(worker.start())
    return workers


def workers_stop(workers: list[CeleryProcess]) -> None:
    for worker in workers:
        worker.stop()


def sql_lines(path: Path) -> list[dict]:
    """What bench/sql_counter.py wrote: one dict per task (task, args, queries, pid)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def spread(values: list[float]) -> dict[str, float | None]:
    """min, median, p95 and max of a list of figures (rounded), for one line of JSON."""
    if not values:
        return {"min": None, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "min": round(ordered[0], 3),
        "p50": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares as even as can be (the first ones one larger)."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    """later - earlier in seconds (3 decimals), None when either is missing (a row still running)."""
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 3)
