"""The REST API, measured in process: the desktop list over 10,000 desktops in pages of 100, and a
one-desktop action, each as requests per second, p50/p95 latency and SQL queries per request.

    .venv/bin/python bench/api.py [--desktops 10000] [--page-size 100] [--pages 100] [--actions 200]

Drops and makes the PostgreSQL database `partnerportal_bench_api`, starts a Redis of its own on a free
port (the broker the action's job is published to; no worker runs, so nothing reaches AWS), makes one
customer with N desktops and an operate token, then sends the requests through Django's WSGI handler in
this process (no network, one client at a time). The list walks the pages by their `next` cursor; the
action reboots a different AVAILABLE desktop each time (`POST /api/v1/desktops/{id}/actions`), which
writes its job, item and audit rows. Prints one JSON object on stdout.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/api.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402

DATABASE_NAME = "partnerportal_bench_api"


def figures(latencies: list[float], queries: list[int], statuses: set[int], cpu: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        # This process's CPU per request: what the API costs, less sensitive than wall time to a busy machine.
        "app_cpu_ms_p50": round(statistics.median(cpu) * 1000, 2),
        "requests": len(latencies),
        "statuses": sorted(statuses),
        "requests_per_second": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
        "sql_queries_per_request": {"min": min(queries), "max": max(queries)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--desktops", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--pages", type=int, default=100, help="list pages to fetch (wraps around)")
    parser.add_argument("--actions", type=int, default=200, help="one-desktop actions to send")
    args = parser.parse_args()
    if args.actions > args.desktops:
        parser.error("--actions cannot exceed --desktops (each action takes its own desktop)")
    stdout, sys.stdout = sys.stdout, sys.stderr  # nothing but the JSON reaches stdout

    from tests.integration.stack import RedisProcess

    redis = RedisProcess(Path(tempfile.mkdtemp(prefix="bench-api-"))).start()
    try:
        recreate_database(DATABASE_NAME)
        os.environ.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}",
            DJANGO_SETTINGS_MODULE="partnerportal.settings.test",
            CELERY_BROKER_URL=redis.url,
            API_RATE="1000000/min",
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.ALLOWED_HOSTS = ["testserver"]
        log("migrating")
        call_command("migrate", verbosity=0)
        token = _world(args.desktops)
        result = _measure(args, token)
    finally:
        redis.stop()
    print(json.dumps(result, indent=2), file=stdout)
    return 0


def _world(n: int) -> str:
    """One customer, one account, directory and bundle, n AVAILABLE managed desktops; an operate token."""
    from django.db import connection

    from tenants.models import ApiToken, AwsAccount, Bundle, Customer, Desktop, Directory

    log(f"making {n} desktops")
    customer = Customer.objects.create(name="Bench", slug="bench")
    account = AwsAccount.objects.create(
        customer=customer, account_id="123456789012", role_arn="arn:aws:iam::123456789012:role/Partner"
    )
    directory = Directory.objects.create(
        aws_account=account, region="us-east-1", directory_id="d-bench00001", state="REGISTERED"
    )
    bundle = Bundle.objects.create(
        aws_account=account,
        region="us-east-1",
        bundle_id="wsb-bench0001",
        name="std",
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=50,
    )
    Desktop.objects.bulk_create(
        (
            Desktop(
                aws_account=account,
                region="us-east-1",
                directory=directory,
                bundle=bundle,
                workspace_id=f"ws-bench{i:06d}",
                user_name=f"user{i:06d}",
                state="AVAILABLE",
                tags={"PartnerManaged": "true"},
            )
            for i in range(n)
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after a load: the planner sees the real row counts
    _, plaintext = ApiToken.issue(customer=customer, name="bench", scopes=["operate"])
    return plaintext


def _measure(args, token: str) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tenants.models import Desktop

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    cache.clear()

    def timed(send) -> tuple[float, int, Any]:
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            response = send()
            elapsed = time.perf_counter() - started
            cpu.append(time.process_time() - cpu_started)
        return elapsed, len(captured), response

    log(f"listing {args.pages} pages of {args.page_size}")
    first = f"/api/v1/desktops?page_size={args.page_size}"
    url, rows = first, 0
    latencies, queries, statuses = [], [], set()
    cpu: list[float] = []
    for _ in range(args.pages):
        elapsed, count, response = timed(lambda u=url: client.get(u))
        latencies.append(elapsed)
        queries.append(count)
        statuses.add(response.status_code)
        body = response.json()
        rows += len(body["results"])
        url = (body["next"] or first).replace("http://testserver", "")
    listing = figures(latencies, queries, statuses, cpu) | {"rows_returned": rows}

    log(f"sending {args.actions} one-desktop reboots")
    targets = list(Desktop.objects.order_by("pk").values_list("pk", flat=True)[: args.actions])
    latencies, queries, statuses = [], [], set()
    cpu.clear()
    for pk in targets:
        elapsed, count, response = timed(
            lambda pk=pk: client.post(
                f"/api/v1/desktops/{pk}/actions", {"action": "reboot"}, content_type="application/json"
            )
        )
        latencies.append(elapsed)
        queries.append(count)
        statuses.add(response.status_code)
    action = figures(latencies, queries, statuses, cpu)
    return {
        "desktops": args.desktops,
        "page_size": args.page_size,
        "desktop_list": listing,
        "desktop_action_reboot": action,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "note": "in process through Django's WSGI handler, one client, PostgreSQL on loopback",
    }


if __name__ == "__main__":
    sys.exit(main())
