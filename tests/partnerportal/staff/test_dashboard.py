"""The console's home: the fleet by state and customer, jobs in flight, failures, accounts needing
attention and AWS calls per account, in a fixed number of queries at 10,000 desktops and 100 customers."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orchestration.choices import JobItemStatus, JobKind, JobStatus
from orchestration.models import AuditEvent, Job, JobItem
from tenants.choices import DesktopState, VerificationStatus
from tenants.models import AwsAccount, Bundle, Customer, Desktop, Directory, Image, StaffCustomerLimit
from tests.factories import AuditEventFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD_QUERY_LIMIT = 20
CUSTOMERS = 100
DESKTOPS = 10_000
STATES = [DesktopState.AVAILABLE, DesktopState.STOPPED, DesktopState.PENDING, DesktopState.ERROR]


def _fleet() -> list[AwsAccount]:
    """100 customers with one account each and 10,000 desktops spread over them and four states."""
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {n:03d}", slug=f"customer-{n:03d}") for n in range(CUSTOMERS)
    )
    accounts = AwsAccount.objects.bulk_create(
        AwsAccount(
            customer=customer,
            account_id=f"{400000000000 + n}",
            role_arn=f"arn:aws:iam::{400000000000 + n}:role/r",
            verification_status=VerificationStatus.VERIFIED,
        )
        for n, customer in enumerate(customers)
    )
    directories = Directory.objects.bulk_create(
        Directory(aws_account=a, region="us-east-1", directory_id=f"d-{n:010d}", name=f"corp{n}.example.com")
        for n, a in enumerate(accounts)
    )
    images = Image.objects.bulk_create(
        Image(aws_account=a, region="us-east-1", image_id=f"wsi-{n:09d}", name=f"golden-{n}")
        for n, a in enumerate(accounts)
    )
    bundles = Bundle.objects.bulk_create(
        Bundle(
            aws_account=a,
            region="us-east-1",
            bundle_id=f"wsb-{n:09d}",
            name=f"standard-{n}",
            image=images[n],
            root_volume_gib=80,
            user_volume_gib=50,
        )
        for n, a in enumerate(accounts)
    )
    Desktop.objects.bulk_create(
        (
            Desktop(
                aws_account=accounts[n % CUSTOMERS],
                region="us-east-1",
                directory=directories[n % CUSTOMERS],
                bundle=bundles[n % CUSTOMERS],
                workspace_id=f"ws-{n:09d}",
                user_name=f"user{n}",
                state=STATES[(n // CUSTOMERS) % len(STATES)],
            )
            for n in range(DESKTOPS)
        ),
        batch_size=2000,
    )
    return accounts


def _activity(accounts: list[AwsAccount]) -> dict[str, Job]:
    """Jobs in flight and failed, a drifting reconciliation, a failed verification, throttled calls."""
    now = timezone.now()
    running = Job.objects.create(
        kind=JobKind.DESKTOP_STOP, customer=accounts[0].customer, status=JobStatus.RUNNING, total_items=4,
        requested_by_kind="STAFF", requested_by_label="ops",
    )  # fmt: skip
    JobItem.objects.bulk_create(
        JobItem(job=running, sequence=n, status=s)
        for n, s in enumerate([JobItemStatus.SUCCEEDED, JobItemStatus.SUCCEEDED, JobItemStatus.PENDING, JobItemStatus.FAILED])
    )  # fmt: skip
    failed = Job.objects.create(
        kind=JobKind.DESKTOP_START, customer=accounts[1].customer, status=JobStatus.FAILED, total_items=1,
        requested_by_kind="STAFF", requested_by_label="ops", finished_at=now - timedelta(hours=2),
    )  # fmt: skip
    JobItem.objects.create(
        job=failed, sequence=0, status=JobItemStatus.FAILED, finished_at=now - timedelta(hours=2)
    )
    old_failure = Job.objects.create(
        kind=JobKind.DESKTOP_REBOOT, customer=accounts[2].customer, status=JobStatus.FAILED,
        requested_by_kind="STAFF", requested_by_label="ops", finished_at=now - timedelta(days=2),
    )  # fmt: skip
    for account, summary in (
        (accounts[3], {"desktops_missing": 0, "lost_tag": 0}),  # clean: not flagged
        (accounts[4], {"desktops_missing": 3, "lost_tag": 1}),
    ):
        Job.objects.create(
            kind=JobKind.RECONCILE, customer=account.customer, status=JobStatus.SUCCEEDED,
            requested_by_kind="SYSTEM", requested_by_label="beat",
            params={"aws_account_id": account.account_id}, result={"summary": summary},
        )  # fmt: skip
    AwsAccount.objects.filter(pk=accounts[5].pk).update(
        verification_status=VerificationStatus.FAILED, verification_message="AccessDenied on AssumeRole"
    )
    AuditEvent.objects.bulk_create(
        [
            *(AuditEventFactory.build(customer=accounts[6].customer, aws_account_id=accounts[6].account_id)
              for _ in range(7)),
            *(AuditEventFactory.build(customer=accounts[6].customer, aws_account_id=accounts[6].account_id,
                                      error_code="ThrottlingException", outcome="FAILED") for _ in range(2)),
        ]
    )  # fmt: skip
    # Two hours ago (audit rows are append-only, so they are written with that time): not counted.
    with mock.patch("django.utils.timezone.now", return_value=now - timedelta(hours=2)):
        AuditEvent.objects.bulk_create(
            AuditEventFactory.build(customer=accounts[7].customer, aws_account_id=accounts[7].account_id)
            for _ in range(3)
        )
    return {"running": running, "failed": failed, "old_failure": old_failure}


def test_the_home_page_shows_the_fleet_in_a_fixed_number_of_queries(client):
    accounts = _fleet()
    jobs = _activity(accounts)
    client.force_login(StaffUserFactory())
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    print(f"dashboard queries: {len(queries)}")
    assert len(queries) <= DASHBOARD_QUERY_LIMIT, [q["sql"] for q in queries]

    dashboard = response.context["dashboard"]
    assert dashboard.desktop_total == DESKTOPS
    assert len(dashboard.fleets) == CUSTOMERS
    assert dashboard.states == ["PENDING", "AVAILABLE", "STOPPED", "ERROR"]
    first = dashboard.fleets[0]
    assert (first.name, first.total, first.cells) == ("Customer 000", 100, [25, 25, 25, 25])
    assert dashboard.state_totals == [2500, 2500, 2500, 2500]

    assert [job.pk for job, _ in dashboard.jobs_in_flight] == [jobs["running"].pk]
    progress = dashboard.jobs_in_flight[0][1]
    assert (progress.done, progress.failed, progress.total) == (3, 1, 4)
    assert [job.pk for job in dashboard.failed_jobs] == [jobs["failed"].pk]  # not the one of two days ago
    assert dict(dashboard.failed_items_by_customer) == {"Customer 001": 1}

    flagged = {a.account.account_id: a.reasons for a in dashboard.accounts_attention}
    assert set(flagged) == {accounts[4].account_id, accounts[5].account_id, accounts[6].account_id}
    assert flagged[accounts[4].account_id] == [
        "Last reconciliation found 3 desktops missing from AWS, 1 desktop without the PartnerManaged tag"
    ]
    assert flagged[accounts[5].account_id] == ["Connection check failed: AccessDenied on AssumeRole"]
    assert flagged[accounts[6].account_id] == ["AWS throttled 2 of 9 calls in the last hour"]

    calls = {
        row.aws_account_id: (row.activity.calls, row.activity.throttled) for row in dashboard.aws_activity
    }
    assert calls == {accounts[6].account_id: (9, 2)}

    page = response.content.decode()
    assert "Fleet overview" in page
    assert f'href="{reverse("admin:orchestration_job_change", args=[jobs["running"].pk])}"' in page
    # The stacked bar: succeeded, failed, skipped, with AWS, queued; each part a rect as wide as its count.
    assert 'viewBox="0 0 4 1"' in page and 'data-segments="2 1 0 0 1"' in page
    assert '<rect class="bar-succeeded" x="0" y="0" width="2" height="1">' in page
    assert '<rect class="bar-failed" x="2" y="0" width="1" height="1">' in page
    assert '<rect class="bar-queued" x="3" y="0" width="1" height="1">' in page
    assert '2 succeeded</span> · <span class="legend-failed">1 failed' in page
    assert "AccessDenied on AssumeRole" in page
    # The jobs panel asks for itself again while jobs run, and the answer is the panel alone.
    panel_url = reverse("admin:orchestration_job_in_flight")
    assert f'hx-get="{panel_url}" hx-trigger="every 3s"' in page
    panel = client.get(panel_url).content.decode()
    assert panel.startswith('<section class="module console-card" id="dash-jobs"') and "<html" not in panel
    assert f"Job {jobs['running'].pk}: Stop desktops" in panel


def test_a_staff_user_limited_to_one_customer_sees_only_its_fleet(client):
    accounts = _fleet()
    jobs = _activity(accounts)
    user = UserFactory(username="manager", is_staff=True, is_superuser=False)
    user.groups.add(Group.objects.get(name="Support"))
    StaffCustomerLimit.objects.create(user=user).customers.add(accounts[0].customer)
    client.force_login(user)
    dashboard = client.get(reverse("admin:index")).context["dashboard"]
    assert [fleet.name for fleet in dashboard.fleets] == ["Customer 000"]
    assert dashboard.desktop_total == DESKTOPS // CUSTOMERS
    assert [job.pk for job, _ in dashboard.jobs_in_flight] == [jobs["running"].pk]
    assert dashboard.failed_jobs == []
    assert dashboard.failed_items_by_customer == []
    assert dashboard.accounts_attention == []
    assert dashboard.aws_activity == []
