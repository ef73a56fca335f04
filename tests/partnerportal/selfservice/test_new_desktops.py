"""New desktops from the portal: the whole list checked and previewed before anything is made."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orchestration.models import Job
from tenants.choices import MembershipRole
from tenants.models import Desktop

pytestmark = pytest.mark.django_db
ADMIN = MembershipRole.ADMIN


def _form(tenant, **extra):
    return {"directory": tenant.directory.pk, "bundle": tenant.bundle.pk, "running_mode": "MANUAL", **extra}


def test_a_csv_preview_lists_what_is_made_and_what_is_refused_and_makes_nothing(tenant):
    before = (Desktop.objects.count(), Job.objects.count())
    upload = SimpleUploadedFile(
        "users.csv",
        b"user_name\nalice\nDoe, Jane\nbob\nALICE\nacme-user0\nsome/one\n" + b"x" * 21 + b"\n",
        content_type="text/csv",
    )
    response = tenant.clients[ADMIN].post("/portal/desktops/new/", _form(tenant, users_file=upload))
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2</strong> desktops will be created; <strong>5</strong> lines refused" in page
    assert "one line is one name; a comma cannot be part of a directory user name" in page
    assert "listed already on line 2" in page
    assert "already has a desktop in this directory" in page
    assert "cannot hold /" in page and "longer than 20 characters" in page
    assert (Desktop.objects.count(), Job.objects.count()) == before


def test_confirming_creates_the_accepted_names_through_the_service(tenant):
    client = tenant.clients[ADMIN]
    response = client.post(
        "/portal/desktops/new/", _form(tenant, user_names="carol\ndave\n", confirmed="yes")
    )
    job = Job.objects.latest("pk")
    assert response["Location"] == f"/portal/jobs/{job.pk}/"
    assert (job.kind, job.total_items, job.customer_id) == ("DESKTOP_CREATE", 2, tenant.customer.pk)
    made = Desktop.objects.filter(job_items__job=job)
    assert sorted(made.values_list("user_name", flat=True)) == ["carol", "dave"]


def test_a_count_of_user_decoupled_desktops(tenant):
    client = tenant.clients[ADMIN]
    preview = client.post("/portal/desktops/new/", _form(tenant, count=3)).content.decode()
    assert "<strong>3</strong> user-decoupled desktops will be created" in preview
    client.post("/portal/desktops/new/", _form(tenant, count=3, confirmed="yes"))
    assert Job.objects.latest("pk").total_items == 3


def test_two_sources_at_once_are_refused_next_to_the_form(tenant):
    response = tenant.clients[ADMIN].post("/portal/desktops/new/", _form(tenant, user_names="a", count=2))
    assert response.status_code == 400
    assert "Give exactly one of" in response.content.decode()


def test_a_list_with_nothing_usable_cannot_be_confirmed(tenant):
    before = Job.objects.count()
    response = tenant.clients[ADMIN].post(
        "/portal/desktops/new/", _form(tenant, user_names="Doe, Jane", confirmed="yes")
    )
    assert "nothing can be created" in response.content.decode()
    assert Job.objects.count() == before


@pytest.mark.slow
def test_another_tenants_directory_is_not_a_choice(tenant, other_tenant):
    response = tenant.clients[ADMIN].post(
        "/portal/desktops/new/",
        {**_form(tenant, user_names="zed", confirmed="yes"), "directory": other_tenant.directory.pk},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Desktop.objects.filter(user_name="zed").exists()


@pytest.mark.parametrize("role", [MembershipRole.OPERATOR, MembershipRole.VIEWER])
def test_only_admins_create(tenant, role):
    assert tenant.clients[role].get("/portal/desktops/new/").status_code == 403
    response = tenant.clients[role].post("/portal/desktops/new/", _form(tenant, count=1, confirmed="yes"))
    assert response.status_code == 403
