"""The customer pages, measured: response times of home, the desktop list, a desktop page and usage.

    .venv/bin/python bench/portal.py [--desktops 10000] [--repeat 30]

Drops and makes the PostgreSQL database `partnerportal_bench_portal`, seeds one customer with N desktops
(each with a morning's AVAILABLE history this month, as tests/partnerportal/selfservice/fleet.py makes
them), signs its admin in with Django's test Client and asks each page `--repeat` times after two
warm-up requests. Prints one JSON object on stdout: per page p50/p95 in milliseconds and its SQL queries.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/portal.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402

DATABASE_NAME = "partnerportal_bench_portal"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--desktops", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ.update({"DJANGO_SETTINGS_MODULE": "partnerportal.settings.test", "DATABASE_URL": DATABASE_URL})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from tests.partnerportal.selfservice.fleet import seed_fleet

    setup_test_environment()  # the test Client needs 'testserver' allowed
    log(f"database {DATABASE_NAME}: dropping, creating, migrating")
    recreate_database(DATABASE_NAME)
    call_command("migrate", verbosity=0)
    log(f"seeding {args.desktops} desktops")
    _, admin, desktops, _ = seed_fleet("bench", args.desktops)
    client = Client()
    client.force_login(admin)
    pages = {
        "home": "/portal/",
        "desktop_list": "/portal/desktops/",
        "desktop_page": f"/portal/desktops/{desktops[len(desktops) // 2].pk}/",
        "usage": "/portal/usage/",
    }
    result: dict = {"desktops": args.desktops, "repeat": args.repeat, "pages": {}}
    for name, path in pages.items():
        for _ in range(2):
            client.get(path)
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        result["pages"][name] = {
            "path": path,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "queries": len(queries),
            "bytes": len(response.content),
        }
        log(f"{name}: {result['pages'][name]}")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
