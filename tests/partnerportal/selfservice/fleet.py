"""A customer with a large fleet, made with bulk_create: desktops, their state history, a job, audit events.

Shared by the query-count test and bench/portal.py.
"""

from datetime import UTC, datetime, timedelta

from orchestration.choices import ActorKind, AuditOutcome, JobItemStatus, JobKind, JobStatus
from orchestration.models import AuditEvent, Job, JobItem
from tenants.choices import DesktopState, MembershipRole
from tenants.models import Desktop, DesktopStateChange
from tests.factories import AwsAccountFactory, BundleFactory, CustomerMembershipFactory, DirectoryFactory

STATES = [DesktopState.AVAILABLE] * 6 + [DesktopState.STOPPED] * 3 + [DesktopState.ERROR]


def seed_fleet(label: str, desktops: int, *, now: datetime | None = None):
    """The customer's admin user (password: the factories' default) and a fleet of `desktops`."""
    now = now or datetime.now(UTC)
    account = AwsAccountFactory(customer__name=f"{label} fleet", customer__slug=label)
    customer = account.customer
    directory = DirectoryFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)
    rows = Desktop.objects.bulk_create(
        Desktop(
            aws_account=account,
            region="us-east-1",
            directory=directory,
            bundle=bundle,
            workspace_id=f"ws-{label[:3]}{n:08d}",
            user_name=f"{label}-user{n}",
            state=STATES[n % len(STATES)],
            running_mode="MANUAL",
            compute_type="STANDARD",
            tags={"PartnerManaged": "true"},
        )
        for n in range(desktops)
    )
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    DesktopStateChange.objects.bulk_create(
        change
        for n, desktop in enumerate(rows)
        for change in (
            DesktopStateChange(
                desktop=desktop,
                state=DesktopState.AVAILABLE,
                changed_at=month_start + timedelta(hours=8 + n % 5),
            ),
            DesktopStateChange(
                desktop=desktop,
                state=DesktopState.STOPPED,
                changed_at=month_start + timedelta(hours=17 + n % 3),
            ),
        )
    )
    job = Job.objects.create(
        kind=JobKind.DESKTOP_STOP,
        customer=customer,
        status=JobStatus.RUNNING,
        requested_by_kind=ActorKind.CUSTOMER_USER,
        requested_by_label=f"{label}-admin",
        total_items=min(desktops, 500),
    )
    JobItem.objects.bulk_create(
        JobItem(
            job=job,
            sequence=n,
            desktop=desktop,
            status=JobItemStatus.SUCCEEDED if n % 2 else JobItemStatus.WAITING,
        )
        for n, desktop in enumerate(rows[:500])
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor_kind=ActorKind.CUSTOMER_USER,
            actor_label=f"{label}-admin",
            customer=customer,
            customer_label=customer.name,
            action="StopWorkspaces",
            target_type="desktop",
            target_id=desktop.workspace_id,
            outcome=AuditOutcome.SUCCEEDED,
            job=job,
        )
        for desktop in rows[:500]
    )
    admin = CustomerMembershipFactory(
        customer=customer, role=MembershipRole.ADMIN, user__username=f"{label}-admin"
    ).user
    return customer, admin, rows, job
