"""Issue 12 item 7: staff roles (groups made by a migration) and staff limited to some customers."""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.urls import reverse

from orchestration.models import Job
from tenants.access import STAFF_ROLES, principal_for_user
from tenants.models import StaffCustomerLimit
from tests.factories import (
    AuditEventFactory,
    AwsAccountFactory,
    CustomerFactory,
    DesktopFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db
DESKTOPS = reverse("admin:tenants_desktop_changelist")


def _ours(**fields):
    """A desktop this control plane made (only those are acted on)."""
    return DesktopFactory(state="AVAILABLE", tags={"PartnerManaged": "true"}, **fields)


def _staff(client, role: str | None = None, *, limited_to=(), username="member"):
    user = StaffUserFactory(username=username, is_superuser=False)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if limited_to:
        StaffCustomerLimit.objects.create(user=user).customers.set(limited_to)
    client.force_login(user)
    return user


def _act(client, action: str, desktops, **extra):
    pks = [d.pk for d in desktops]
    return client.post(DESKTOPS, {"action": action, helpers.ACTION_CHECKBOX_NAME: pks, "index": 0, **extra})


def test_the_migration_makes_each_role_with_its_permissions():
    assert set(Group.objects.filter(name__in=STAFF_ROLES).values_list("name", flat=True)) == set(STAFF_ROLES)

    def perms(role):
        group = Group.objects.get(name=role)
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }

    helpdesk, support, auditor, administrator = (
        perms(r) for r in ("Help desk", "Support", "Auditor", "Administrator")
    )
    assert "tenants.power_desktop" in helpdesk and "tenants.view_desktop" in helpdesk
    assert (
        not {"tenants.repair_desktop", "tenants.provision_desktop", "orchestration.view_auditevent"}
        & helpdesk
    )
    assert {"tenants.repair_desktop", "tenants.provision_desktop", "tenants.change_image"} <= support
    assert {"tenants.change_bundle", "tenants.change_directory"} <= support
    assert "tenants.change_apitoken" not in support
    assert "orchestration.view_auditevent" in auditor
    assert all(p.split(".")[1].startswith("view_") for p in auditor)
    assert {
        "tenants.change_apitoken",
        "auth.change_user",
        "django_celery_beat.change_periodictask",
    } <= administrator


def test_help_desk_starts_and_stops_but_cannot_rebuild_or_terminate(client):
    user = _staff(client, "Help desk")
    principal = principal_for_user(user)
    assert principal.can_do("stop") and not principal.can_do("rebuild") and not principal.can_do("terminate")
    desktop = _ours()
    _act(client, "stop_desktops", [desktop])
    assert Job.objects.count() == 1
    for action in ("rebuild_desktops", "terminate_desktops", "modify_desktops"):
        _act(client, action, [desktop], post="yes")
    assert Job.objects.count() == 1
    assert client.get(reverse("admin:orchestration_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:tenants_desktop_create")).status_code == 403


def test_support_rebuilds_and_the_auditor_only_reads_the_audit_log(client):
    desktop = _ours()
    _staff(client, "Support")
    _act(client, "rebuild_desktops", [desktop], post="yes")
    assert Job.objects.count() == 1
    assert client.get(reverse("admin:orchestration_auditevent_changelist")).status_code == 403
    client.logout()
    _staff(client, "Auditor", username="auditor")
    event = AuditEventFactory()
    assert client.get(reverse("admin:orchestration_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:orchestration_auditevent_change", args=[event.pk])).status_code == 200
    _act(client, "stop_desktops", [desktop])
    assert Job.objects.count() == 1
    assert client.get(reverse("admin:tenants_desktop_create")).status_code == 403


def test_a_limited_staff_user_sees_chooses_and_acts_on_only_their_customers(client):
    mine, theirs = CustomerFactory(name="Mine"), CustomerFactory(name="Theirs")
    my_desktop = _ours(aws_account=AwsAccountFactory(customer=mine), user_name="my-user")
    their_desktop = _ours(aws_account=AwsAccountFactory(customer=theirs), user_name="their-user")
    AuditEventFactory(customer=theirs, actor_label="their-actor")
    _staff(client, "Support", limited_to=[mine])

    listing = client.get(DESKTOPS).content.decode()
    assert "my-user" in listing and "their-user" not in listing and "Theirs" not in listing
    change = client.get(reverse("admin:tenants_desktop_change", args=[their_desktop.pk]))
    assert change.status_code == 302  # the admin's "does not exist" redirect, as for a missing row
    _act(client, "stop_desktops", [their_desktop])
    assert not Job.objects.exists()
    _act(client, "stop_desktops", [my_desktop, their_desktop])
    job = Job.objects.get()
    assert job.customer == mine and job.total_items == 1

    create = client.get(reverse("admin:tenants_desktop_create")).content.decode()
    assert my_desktop.aws_account.account_id in create
    assert their_desktop.aws_account.account_id not in create
    csv = client.get(reverse("admin:tenants_customer_usage_csv", args=[theirs.pk]))
    assert csv.status_code == 404
    template = client.get(reverse("admin:tenants_awsaccount_template", args=[their_desktop.aws_account_id]))
    assert template.status_code in (403, 404)
    assert client.get(reverse("admin:tenants_customer_changelist")).content.decode().count("Theirs") == 0


def test_a_limited_auditor_reads_only_their_customers_audit_events(client):
    mine, theirs = CustomerFactory(name="Mine"), CustomerFactory(name="Theirs")
    AuditEventFactory(customer=mine, actor_label="mine-actor")
    AuditEventFactory(customer=theirs, actor_label="their-actor")
    AuditEventFactory(customer=None, customer_label="", actor_label="partner-actor")
    _staff(client, "Auditor", limited_to=[mine])
    page = client.get(reverse("admin:orchestration_auditevent_changelist")).content.decode()
    assert "mine-actor" in page and "their-actor" not in page and "partner-actor" not in page
