"""SQL statements per page at 10,000 desktops: at most 15 each, whatever the fleet's size."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.partnerportal.selfservice.fleet import seed_fleet

FLEET = 10_000
MAX_QUERIES = 15


def portal_pages(desktops, job) -> list[str]:
    desktop = desktops[len(desktops) // 2]
    return [
        "/portal/",
        "/portal/desktops/",
        "/portal/desktops/?q=bigco-user99&sort=user_name",
        "/portal/desktops/?state=AVAILABLE&page=100",
        f"/portal/desktops/{desktop.pk}/",
        f"/portal/desktops/{desktop.pk}/state/",
        "/portal/jobs/",
        f"/portal/jobs/{job.pk}/",
        f"/portal/jobs/{job.pk}/progress/",
        "/portal/usage/",
        "/portal/usage.csv",
        "/portal/audit/",
        "/portal/power-policies/",
        "/portal/api-tokens/",
        "/portal/members/",
        "/portal/existing/",
        "/portal/desktops/new/",
    ]


@pytest.mark.django_db
@pytest.mark.timeout(240)
def test_each_page_takes_at_most_15_queries_at_10000_desktops():
    admin, desktops, job = seed_fleet("bigco", FLEET)[1:]
    client = Client()
    client.force_login(admin)
    counts = {}
    for path in portal_pages(desktops, job):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = len(queries)
    over = {path: n for path, n in counts.items() if n > MAX_QUERIES}
    assert not over, f"more than {MAX_QUERIES} queries: {over} (all: {counts})"
    # The list really pages through the fleet: page 100 of the AVAILABLE ones still has rows.
    assert "bigco-user" in client.get("/portal/desktops/?state=AVAILABLE&page=100").content.decode()
