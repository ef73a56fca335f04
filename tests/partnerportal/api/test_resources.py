"""The resources, scoped by the token: what a customer token and a staff token see and may do."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestration.choices import JobItemStatus, JobKind, JobStatus
from orchestration.models import AuditEvent, Job, JobItem
from tenants.models import Desktop, DesktopStateChange, PowerPolicy
from tests.factories import DesktopFactory, JobFactory, JobItemFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_a_customer_token_lists_its_own_desktops_with_filters(acme, globex):
    client = acme.clients["read"]
    assert sorted(ids(client.get("/api/v1/desktops"))) == sorted(d.pk for d in acme.desktops)
    assert ids(client.get("/api/v1/desktops", {"state": "STOPPED"})) == [acme.desktops[1].pk]
    both = client.get("/api/v1/desktops?state=STOPPED&state=AVAILABLE")
    assert len(ids(both)) == 3
    found = client.get("/api/v1/desktops", {"search": acme.desktops[2].workspace_id})
    assert ids(found) == [acme.desktops[2].pk]
    # Filtering by another customer finds nothing of theirs.
    assert ids(client.get("/api/v1/desktops", {"customer": globex.customer.pk})) == []


def test_a_staff_token_sees_every_customer_and_filters_by_customer(staff_api, acme, globex):
    assert len(ids(staff_api.get("/api/v1/desktops"))) == 6
    only = ids(staff_api.get("/api/v1/desktops", {"customer": globex.customer.pk}))
    assert sorted(only) == sorted(d.pk for d in globex.desktops)
    customers = staff_api.get("/api/v1/customers").json()["results"]
    assert {c["slug"] for c in customers} == {"acme", "globex"}


def test_cursor_pages_walk_every_desktop_once_in_a_fixed_number_of_queries(acme):
    for _ in range(7):
        DesktopFactory(aws_account=acme.account, directory=acme.directory, bundle=acme.bundle)
    client = acme.clients["read"]
    seen, url, queries = [], "/api/v1/desktops?page_size=4&ordering=workspace_id", []
    while url:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        queries.append(len(captured))
        seen += ids(response)
        url = response.json()["next"]
    assert len(seen) == len(set(seen)) == 10
    workspace_ids = list(
        Desktop.objects.filter(pk__in=seen).order_by("workspace_id").values_list("pk", flat=True)
    )
    assert seen == workspace_ids
    assert max(queries) <= 4, queries  # token, touch, page (joined); no query per row


def test_retrieve_is_scoped_and_another_tenants_desktop_is_a_404(acme, globex):
    client = acme.clients["read"]
    mine = client.get(f"/api/v1/desktops/{acme.desktops[0].pk}")
    assert mine.status_code == 200 and mine.json()["workspace_id"] == acme.desktops[0].workspace_id
    assert client.get(f"/api/v1/desktops/{globex.desktops[0].pk}").status_code == 404


def test_bulk_create_answers_202_with_the_job(acme, simulator):
    response = acme.clients["admin"].post(
        "/api/v1/desktops",
        {
            "aws_account": acme.account.account_id,
            "directory_id": acme.directory.directory_id,
            "bundle_id": acme.bundle.bundle_id,
            "user_names": ["ann", "bob"],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == JobKind.DESKTOP_CREATE and job.total_items == 2 and job.customer == acme.customer
    assert response["Location"] == f"/api/v1/jobs/{job.pk}"
    assert response.json()["progress"] == {
        "total": 2,
        "succeeded": 0,
        "failed": 0,
        "skipped": 0,
        "in_flight": 2,
    }
    assert job.requested_by_kind == "API_TOKEN" and job.requested_by_label == "token:acme-admin"


def test_bulk_create_refuses_another_tenants_account_like_a_missing_one(acme, globex):
    body = {
        "aws_account": globex.account.account_id,
        "directory_id": globex.directory.directory_id,
        "bundle_id": globex.bundle.bundle_id,
        "count": 1,
    }
    response = acme.clients["admin"].post("/api/v1/desktops", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["aws_account"] == ["No AWS account 222222222222 is known to you."]
    assert not Job.objects.filter(kind=JobKind.DESKTOP_CREATE).exists()


def test_an_operate_token_may_start_but_not_create_or_terminate(acme):
    client = acme.clients["operate"]
    started = client.post(
        f"/api/v1/desktops/{acme.desktops[1].pk}/actions", {"action": "start"}, format="json"
    )
    assert started.status_code == 202, started.content
    assert Job.objects.get(pk=started.json()["id"]).kind == JobKind.DESKTOP_START
    refused = client.post(
        f"/api/v1/desktops/{acme.desktops[0].pk}/actions", {"action": "terminate"}, format="json"
    )
    assert refused.status_code == 403
    assert client.post("/api/v1/desktops", {"count": 1}, format="json").status_code == 403


def test_an_action_on_a_selection_makes_one_job(acme, globex):
    running = [acme.desktops[0].pk, acme.desktops[2].pk]
    response = acme.clients["operate"].post(
        "/api/v1/desktops/actions", {"action": "reboot", "desktop_ids": running}, format="json"
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == JobKind.DESKTOP_REBOOT and job.total_items == 2
    foreign = acme.clients["operate"].post(
        "/api/v1/desktops/actions",
        {"action": "reboot", "desktop_ids": [globex.desktops[0].pk]},
        format="json",
    )
    assert foreign.status_code == 400 and "desktop_ids" in foreign.json()["errors"]


def test_modify_passes_its_params_and_refuses_unknown_ones(acme):
    client = acme.clients["admin"]
    url = f"/api/v1/desktops/{acme.desktops[0].pk}/actions"
    bad = client.post(url, {"action": "modify", "params": {"colour": "blue"}}, format="json")
    assert bad.status_code == 400
    ok = client.post(url, {"action": "modify", "params": {"compute_type": "PERFORMANCE"}}, format="json")
    assert ok.status_code == 202, ok.content
    assert Job.objects.get(pk=ok.json()["id"]).params["compute_type"] == "PERFORMANCE"


def test_a_job_shows_progress_and_each_items_outcome(acme):
    job = JobFactory(
        customer=acme.customer, kind=JobKind.DESKTOP_STOP, params={"action": "stop"}, total_items=2
    )
    JobItemFactory(job=job, desktop=acme.desktops[0], status=JobItemStatus.SUCCEEDED, aws_request_id="req-1")
    JobItemFactory(
        job=job, desktop=acme.desktops[2], status=JobItemStatus.FAILED, error_code="InvalidResourceState"
    )
    body = acme.clients["read"].get(f"/api/v1/jobs/{job.pk}").json()
    assert body["progress"] == {"total": 2, "succeeded": 1, "failed": 1, "skipped": 0, "in_flight": 0}
    assert [(i["status"], i["error_code"]) for i in body["items"]] == [
        ("SUCCEEDED", ""),
        ("FAILED", "InvalidResourceState"),
    ]
    listed = acme.clients["read"].get("/api/v1/jobs", {"kind": "DESKTOP_STOP"}).json()["results"]
    assert [j["id"] for j in listed] == [job.pk]


def test_cancel_stops_the_items_that_have_not_reached_aws_and_is_audited(acme):
    job = JobFactory(
        customer=acme.customer, kind=JobKind.DESKTOP_START, params={"action": "start"}, total_items=3
    )
    unsent = JobItemFactory(job=job, desktop=acme.desktops[0], status=JobItemStatus.PENDING)
    sent = JobItemFactory(job=job, desktop=acme.desktops[1], status=JobItemStatus.WAITING)
    claimed = JobItemFactory(job=job, desktop=acme.desktops[2], status=JobItemStatus.RUNNING)
    assert acme.clients["read"].post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 403
    response = acme.clients["operate"].post(f"/api/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["cancelled_items"] == 1
    statuses = dict(JobItem.objects.filter(job=job).values_list("pk", "status"))
    assert statuses == {unsent.pk: "FAILED", sent.pk: "WAITING", claimed.pk: "RUNNING"}
    assert JobItem.objects.get(pk=unsent.pk).error_code == "Cancelled"
    event = AuditEvent.objects.get(action="JobCancel")
    assert event.job_id == job.pk and event.details["cancelled_items"] == 1
    assert event.actor_label == "token:acme-operate"


def test_a_job_with_nothing_sent_becomes_cancelled_and_its_desktops_say_so(acme, simulator):
    created = acme.clients["admin"].post(
        "/api/v1/desktops",
        {
            "aws_account": acme.account.account_id,
            "directory_id": acme.directory.directory_id,
            "bundle_id": acme.bundle.bundle_id,
            "count": 2,
        },
        format="json",
    )
    job_id = created.json()["id"]
    response = acme.clients["admin"].post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.json()["cancelled_items"] == 2
    assert response.json()["job"]["status"] == JobStatus.CANCELLED
    made = Desktop.objects.filter(job_items__job_id=job_id)
    assert {(d.state, d.error_code) for d in made} == {("ERROR", "Cancelled")}
    again = acme.clients["admin"].post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 400


def test_power_policies_crud_is_audited_and_needs_configure(acme, globex):
    admin, reader = acme.clients["admin"], acme.clients["read"]
    body = {"name": "night", "stop_after_disconnect_minutes": 20}
    assert reader.post("/api/v1/power-policies", body, format="json").status_code == 403
    created = admin.post("/api/v1/power-policies", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert PowerPolicy.objects.get(pk=pk).customer == acme.customer
    duplicate = admin.post("/api/v1/power-policies", body, format="json")
    assert duplicate.status_code == 400
    second_default = admin.patch(f"/api/v1/power-policies/{pk}", {"is_default": True}, format="json")
    assert second_default.status_code == 400  # acme has a default already
    changed = admin.patch(
        f"/api/v1/power-policies/{pk}", {"stop_after_disconnect_minutes": 45}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["stop_after_disconnect_minutes"] == 45
    bad_schedule = admin.patch(
        f"/api/v1/power-policies/{pk}", {"schedule": {"windows": "always"}}, format="json"
    )
    assert bad_schedule.status_code == 400
    assert admin.delete(f"/api/v1/power-policies/{globex.policy.pk}").status_code == 404
    assert admin.delete(f"/api/v1/power-policies/{pk}").status_code == 204
    actions = list(AuditEvent.objects.filter(target_type="power_policy").values_list("action", flat=True))
    assert sorted(actions) == ["PowerPolicyCreate", "PowerPolicyDelete", "PowerPolicyUpdate"]


def test_usage_gives_hours_per_desktop_and_day(acme, globex, staff_api):
    desktop = acme.desktops[0]
    DesktopStateChange.objects.filter(desktop=desktop).delete()
    for state, at in (("AVAILABLE", "2026-11-02T08:00:00Z"), ("STOPPED", "2026-11-02T12:30:00Z")):
        DesktopStateChange.objects.create(desktop=desktop, state=state, changed_at=at)
    params = {"start": "2026-11-01", "end": "2026-11-05"}
    body = acme.clients["read"].get("/api/v1/usage", params).json()
    rows = [r for r in body["rows"] if r["workspace_id"] == desktop.workspace_id]
    assert [(r["period"], r["available_hours"]) for r in rows] == [("2026-11-02", "4.50")]
    assert staff_api.get("/api/v1/usage", params).status_code == 400  # staff say which customer
    by_month = staff_api.get(
        "/api/v1/usage", {**params, "customer": acme.customer.pk, "granularity": "month"}
    )
    assert by_month.status_code == 200
    assert [r["period"] for r in by_month.json()["rows"] if r["desktop"] == desktop.pk] == ["2026-11"]
    assert date.fromisoformat(by_month.json()["start"]) == date(2026, 11, 1)


def test_audit_events_need_the_audit_capability_and_are_scoped(acme, globex):
    events = acme.clients["read"].get("/api/v1/audit-events").json()["results"]
    assert {e["customer"] for e in events} == {acme.customer.pk}
    assert acme.event.pk in [e["id"] for e in events] and globex.event.pk not in [e["id"] for e in events]


def test_accounts_directories_images_bundles_are_readable_and_scoped(acme, globex):
    client = acme.clients["read"]
    for url, mine in (
        ("/api/v1/aws-accounts", acme.account),
        ("/api/v1/directories", acme.directory),
        ("/api/v1/images", acme.image),
        ("/api/v1/bundles", acme.bundle),
    ):
        assert ids(client.get(url)) == [mine.pk], url
        assert client.get(f"{url}/{mine.pk}").status_code == 200
    assert client.get(f"/api/v1/aws-accounts/{globex.account.pk}").status_code == 404
