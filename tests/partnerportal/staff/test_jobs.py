"""The console's jobs: failed and duration columns, a job's page with its progress, per-state counts,
items linked to their desktops and the result in words, and action messages that link to the job."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orchestration.choices import JobItemStatus, JobKind, JobStatus
from orchestration.models import Job
from tests.factories import AwsAccountFactory, DesktopFactory, JobFactory, JobItemFactory

pytestmark = pytest.mark.django_db


def _stop_job(status=JobStatus.RUNNING, **fields) -> tuple[Job, list]:
    account = AwsAccountFactory()
    desktops = [DesktopFactory(aws_account=account, user_name=f"ann{n}") for n in range(4)]
    started = timezone.now() - timedelta(minutes=3, seconds=5)
    job = JobFactory(
        kind=JobKind.DESKTOP_STOP,
        customer=account.customer,
        status=status,
        total_items=4,
        started_at=started,
        params={"action": "stop", "workspace_ids": [d.workspace_id for d in desktops]},
        **fields,
    )
    statuses = [JobItemStatus.SUCCEEDED, JobItemStatus.FAILED, JobItemStatus.WAITING, JobItemStatus.PENDING]
    for n, (desktop, item_status) in enumerate(zip(desktops, statuses, strict=True)):
        JobItemFactory(
            job=job,
            sequence=n,
            desktop=desktop,
            status=item_status,
            error_code="InvalidResourceStateException" if item_status == JobItemStatus.FAILED else "",
            error_message="The WorkSpace is not AVAILABLE." if item_status == JobItemStatus.FAILED else "",
        )
    return job, desktops


def test_the_jobs_list_has_progress_failed_and_duration_columns(staff_client):
    job, _ = _stop_job(status=JobStatus.PARTIAL)
    Job.objects.filter(pk=job.pk).update(finished_at=job.started_at + timedelta(minutes=2, seconds=7))
    page = staff_client.get(reverse("admin:orchestration_job_changelist")).content.decode()
    assert 'class="sortable column-failed_items">' in page and "<span>Duration</span>" in page
    assert '<td class="field-failed_items">1</td>' in page
    assert '<td class="field-duration">2 min 7 s</td>' in page
    assert 'value="2" max="4"' in page  # one succeeded and one failed are done
    job.items.filter(sequence=3).update(status=JobItemStatus.SKIPPED)
    page = staff_client.get(reverse("admin:orchestration_job_changelist")).content.decode()
    assert 'value="3" max="4"' in page  # a skipped item is done too


def test_a_running_jobs_page_polls_its_progress_and_links_items_to_desktops(staff_client):
    job, desktops = _stop_job()
    response = staff_client.get(reverse("admin:orchestration_job_change", args=[job.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    progress_url = reverse("admin:orchestration_job_progress", args=[job.pk])
    assert f'hx-get="{progress_url}" hx-trigger="every 2s"' in page
    assert '<span id="job-percent">50 %</span>' in page
    for label, n in (("pending", 1), ("running", 0), ("waiting on AWS", 1), ("succeeded", 1), ("failed", 1)):
        assert f"<li><strong>{n}</strong> {label}</li>" in page
    # The bar shows the item AWS is working on apart from the one not sent yet.
    assert 'data-segments="1 1 0 1 1"' in page and '<rect class="bar-with-aws" x="2" y="0" width="1"' in page
    for desktop in desktops:
        assert (
            f'href="{reverse("admin:tenants_desktop_change", args=[desktop.pk])}">{desktop.workspace_id}</a>'
            in page
        )
    # Items read from 1, as the # column does; the stored sequence starts at 0.
    item = job.items.get(sequence=0)
    assert f'href="{reverse("admin:orchestration_jobitem_change", args=[item.pk])}">Item 1</a>' in page
    assert str(item).startswith("Item 1 of job") and ">Item 0</a>" not in page
    assert "Failed: The WorkSpace is not AVAILABLE. (InvalidResourceStateException)" in page
    assert "AWS accepted it; waiting for AWS to finish." in page
    # Parameters in words, never raw JSON.
    assert (
        '<th scope="row" class="depth-0">WorkSpaces</th><td>' + ", ".join(d.workspace_id for d in desktops)
        in page
    )
    main = page[page.index('id="content-main"') :]
    assert "{&quot;" not in main and '{"' not in main and "[&#x27;" not in main

    partial = staff_client.get(progress_url).content.decode()
    assert partial.startswith('<div id="job-progress"') and "<html" not in partial


def test_a_finished_jobs_page_stops_polling_and_shows_its_result_as_a_table(staff_client):
    job = JobFactory(
        kind=JobKind.RECONCILE,
        status=JobStatus.SUCCEEDED,
        params={"aws_account_id": "123456789012"},
        result={
            "summary": {"desktops_seen": 30, "desktops_missing": 2, "lost_tag": 0},
            "regions": {"us-east-1": {"desktops": {"missing": ["ws-aaaaaaaa1", "ws-aaaaaaaa2"]}}},
        },
    )
    page = staff_client.get(reverse("admin:orchestration_job_change", args=[job.pk])).content.decode()
    assert "hx-get" not in page
    assert '<table class="console-table" id="job-result">' in page
    for words in (
        "Desktops seen in AWS: 30",
        "Desktops missing from AWS: 2",
        "Without the PartnerManaged tag: 0",
    ):
        assert words in page
    assert '<th scope="row" class="depth-1">us-east-1</th>' in page
    assert '<th scope="row" class="depth-3">Missing</th><td>ws-aaaaaaaa1, ws-aaaaaaaa2</td>' in page
    main = page[page.index('id="content-main"') :]
    assert "{&quot;" not in main and '{"' not in main and "{&#x27;" not in main


def test_another_customers_job_is_not_found_for_a_limited_staff_user(client):
    from django.contrib.auth.models import Group

    from tenants.models import StaffCustomerLimit
    from tests.factories import CustomerFactory, UserFactory

    job, _ = _stop_job()
    user = UserFactory(username="manager", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    StaffCustomerLimit.objects.create(user=user).customers.add(CustomerFactory())
    client.force_login(user)
    assert client.get(reverse("admin:orchestration_job_change", args=[job.pk])).status_code == 404
    assert client.get(reverse("admin:orchestration_job_progress", args=[job.pk])).status_code == 404


def test_an_item_page_links_its_job_and_desktop_and_shows_parameters_in_words(staff_client):
    job, desktops = _stop_job()
    item = job.items.get(sequence=0)
    item.params = {"workspace_id": desktops[0].workspace_id, "from_state": "AVAILABLE"}
    item.save()
    page = staff_client.get(reverse("admin:orchestration_jobitem_change", args=[item.pk])).content.decode()
    assert (
        f'href="{reverse("admin:orchestration_job_change", args=[job.pk])}">Job {job.pk}: Stop desktops</a>'
        in page
    )
    assert f'href="{reverse("admin:tenants_desktop_change", args=[desktops[0].pk])}">' in page
    assert '<tr><th scope="row">From state</th><td>AVAILABLE</td></tr>' in page


def test_an_actions_message_links_to_its_job(staff_client):
    account = AwsAccountFactory()
    desktops = [
        DesktopFactory(aws_account=account, tags={"PartnerManaged": "true"}, state=state)
        for state in ("AVAILABLE", "AVAILABLE", "STOPPED")
    ]
    response = staff_client.post(
        reverse("admin:tenants_desktop_changelist"),
        {"action": "stop_desktops", "_selected_action": [d.pk for d in desktops]},
        follow=True,
    )
    job = Job.objects.get()
    link = f'<a href="{reverse("admin:orchestration_job_change", args=[job.pk])}">Follow job {job.pk}</a>'
    assert link in response.content.decode()
