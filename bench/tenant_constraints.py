"""What the tenant-safe relations cost on bulk writes: N desktops and N job items inserted in one statement
each, with the composite keys and constraint triggers of tenants 0011 / orchestration 0009, then without.

    .venv/bin/python bench/tenant_constraints.py [--n 10000] [--repeat 3]

Drops and makes the PostgreSQL database `partnerportal_bench_tenants`, migrates it, times each insert
(in a transaction rolled back afterwards) `--repeat` times with the constraints, migrates back to
before them, times again, and prints one JSON object with the best time of each in milliseconds.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(
        0, str(ROOT)
    )  # `python bench/tenant_constraints.py` puts bench/ on the path, not the root

from bench.common import log, recreate_database  # noqa: E402

DATABASE_NAME = "partnerportal_bench_tenants"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"

SETUP = [
    "INSERT INTO tenants_customer (name, slug, is_active, created_at) VALUES ('A', 'a', true, now())",
    """INSERT INTO tenants_awsaccount (customer_id, name, account_id, regions, default_region, auth_mode,
        role_arn, external_id, access_key_id, secret_access_key_ciphertext, verification_status,
        verification_message, byop_enabled, dedicated_tenancy_support,
        dedicated_tenancy_management_cidr_range, dedicated_tenancy_modification_state, created_at, updated_at)
    SELECT id, '', '111111111111', '["us-east-1"]', 'us-east-1', 'ASSUME_ROLE',
        'arn:aws:iam::111111111111:role/x', 'wsc-bench', '', '', 'UNVERIFIED', '', false, '', '', '', now(), now()
    FROM tenants_customer""",
    """INSERT INTO tenants_directory (aws_account_id, region, tags, directory_id, name, alias, directory_type,
        state, tenancy, subnet_ids, registration_code, custom_security_group_id, workspace_security_group_id,
        maintenance_mode_enabled, created_at, updated_at)
    SELECT id, 'us-east-1', '{}', 'd-0000000001', '', '', '', '', 'SHARED', '[]', '', '', '', true, now(), now()
    FROM tenants_awsaccount""",
    """INSERT INTO tenants_bundle (aws_account_id, region, tags, bundle_id, name, description, compute_type,
        root_volume_gib, user_volume_gib, state, created_at, updated_at)
    SELECT id, 'us-east-1', '{}', 'wsb-00000001', 'b', '', 'STANDARD', 80, 50, 'AVAILABLE', now(), now()
    FROM tenants_awsaccount""",
    """INSERT INTO orchestration_job (kind, customer_id, status, queue, params, requested_by_kind,
        requested_by_label, total_items, error, result, created_at)
    SELECT 'IDLE_SWEEP', id, 'PENDING', 'bulk', '{}', 'SCHEDULE', 'bench', 0, '', '{}', now()
    FROM tenants_customer""",
]
DESKTOPS = """INSERT INTO tenants_desktop (aws_account_id, region, tags, directory_id, bundle_id, workspace_id,
    user_name, workspace_name, computer_name, state, running_mode, compute_type, error_code, error_message,
    unmanaged_reason, created_at, updated_at)
SELECT a.id, 'us-east-1', '{}', d.id, b.id, 'ws-' || lpad(g::text, 9, '0'), 'u' || g, '', '', 'AVAILABLE',
    'MANUAL', '', '', '', '', now(), now()
FROM generate_series(1, %s) g, tenants_awsaccount a, tenants_directory d, tenants_bundle b"""
JOB_ITEMS = """INSERT INTO orchestration_jobitem (job_id, sequence, status, desktop_id, params, aws_resource_id,
    aws_request_id, attempts, retries, error_code, error_message, created_at, updated_at)
SELECT j.id, row_number() OVER (), 'PENDING', d.id, '{}', '', '', 0, 0, '', '', now(), now()
FROM orchestration_job j, tenants_desktop d"""


def _migrate(*target: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0", *target], cwd=ROOT, env=env, check=True
    )


def _best_times(n: int, repeat: int) -> dict[str, float]:
    import psycopg

    best = {"desktops_ms": float("inf"), "job_items_ms": float("inf")}
    with psycopg.connect(DATABASE_URL) as conn:
        for _ in range(repeat):
            with conn.transaction(force_rollback=True):
                for statement in SETUP:
                    conn.execute(statement)
                for key, statement, params in (
                    ("desktops_ms", DESKTOPS, [n]),
                    ("job_items_ms", JOB_ITEMS, []),
                ):
                    started = time.perf_counter()
                    conn.execute(statement, params)
                    best[key] = min(best[key], round((time.perf_counter() - started) * 1000, 1))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="desktops (and job items) per insert")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    recreate_database(DATABASE_NAME)
    log("migrating")
    _migrate()
    log("timing with the tenant constraints")
    with_constraints = _best_times(args.n, args.repeat)
    _migrate("orchestration", "0008")
    _migrate("tenants", "0010")
    log("timing without them")
    without = _best_times(args.n, args.repeat)
    figures = {"n": args.n, "repeat": args.repeat, "with_constraints": with_constraints, "without": without}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
