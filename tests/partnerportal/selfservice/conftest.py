"""A customer with desktops, jobs and history, and a signed-in client per membership role."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from orchestration.choices import JobItemStatus, JobKind, JobStatus
from tenants.choices import DesktopState, MembershipRole
from tenants.models import DesktopStateChange
from tests.factories import (
    AuditEventFactory,
    AwsAccountFactory,
    BundleFactory,
    CustomerMembershipFactory,
    DesktopFactory,
    DirectoryFactory,
    JobFactory,
    JobItemFactory,
)

ROLES = (MembershipRole.ADMIN, MembershipRole.OPERATOR, MembershipRole.VIEWER)


class Tenant:
    """One customer's world: an account, a directory, a bundle, desktops with history, a job."""

    def __init__(self, label: str):
        self.account = AwsAccountFactory(customer__name=f"{label} Corp", customer__slug=label)
        self.customer = self.account.customer
        self.directory = DirectoryFactory(aws_account=self.account, name=f"{label}.example.com")
        self.bundle = BundleFactory(aws_account=self.account)
        self.desktops = [
            DesktopFactory(
                aws_account=self.account,
                directory=self.directory,
                bundle=self.bundle,
                user_name=f"{label}-user{n}",
                state=state,
                tags={"PartnerManaged": "true"},
            )
            for n, state in enumerate([DesktopState.AVAILABLE, DesktopState.STOPPED, DesktopState.ERROR])
        ]
        start = datetime.now(UTC).replace(day=1, hour=8, minute=0, second=0, microsecond=0)
        DesktopStateChange.objects.filter(desktop__in=self.desktops).delete()  # a known history instead
        for desktop in self.desktops:
            DesktopStateChange.objects.create(desktop=desktop, state=DesktopState.AVAILABLE, changed_at=start)
            DesktopStateChange.objects.create(
                desktop=desktop, state=DesktopState.STOPPED, changed_at=start + timedelta(hours=3)
            )
        self.job = JobFactory(customer=self.customer, kind=JobKind.DESKTOP_STOP, status=JobStatus.RUNNING)
        JobItemFactory(job=self.job, desktop=self.desktops[0], status=JobItemStatus.SUCCEEDED, sequence=1)
        JobItemFactory(job=self.job, desktop=self.desktops[1], status=JobItemStatus.WAITING, sequence=2)
        self.job.total_items = 2
        self.job.save(update_fields=["total_items"])
        self.event = AuditEventFactory(
            customer=self.customer, target_id=self.desktops[0].workspace_id, actor_label=f"{label}-admin"
        )
        self.clients = {}
        for role in ROLES:
            membership = CustomerMembershipFactory(
                customer=self.customer, role=role, user__username=f"{label}-{role.lower()}"
            )
            client = Client()
            client.force_login(membership.user)
            self.clients[role] = client


@pytest.fixture
def tenant(db) -> Tenant:
    return Tenant("acme")


@pytest.fixture
def tenant_mid_month(db) -> Iterator[Tenant]:
    """The tenant seen from the middle of this month, for the pages that show this month's hours: its
    history (the 1st, 08:00-11:00) is then in the past at whatever hour the suite runs (on the 1st before
    11:00 it is not, and this month has no hours yet)."""
    mid_month = datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(mid_month, tick=True):
        yield Tenant("acme")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return Tenant("globex")
