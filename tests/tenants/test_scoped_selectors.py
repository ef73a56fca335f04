"""Selectors scoped by principal: what the customer pages, the API and the console list and count."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.choices import JobItemStatus, JobStatus
from orchestration.models import Job
from orchestration.selectors import (
    AuditFilters,
    audit_event_list,
    job_get,
    job_list,
    job_progress_many,
    jobs_in_flight,
)
from tenants.access import principal_for_user
from tenants.choices import DesktopState, RunningMode
from tenants.models import Desktop
from tenants.selectors import (
    DesktopFilters,
    desktop_get,
    desktop_list,
    desktop_state_counts,
    desktops_needing_attention,
)
from tests.factories import (
    AuditEventFactory,
    AwsAccountFactory,
    CustomerMembershipFactory,
    DesktopFactory,
    JobFactory,
    JobItemFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_tenants():
    mine = CustomerMembershipFactory()
    theirs = CustomerMembershipFactory()
    account = AwsAccountFactory(customer=mine.customer)
    other_account = AwsAccountFactory(customer=theirs.customer)
    return mine, theirs, account, other_account


def test_desktop_list_filters_and_never_shows_another_tenant(two_tenants):
    mine, theirs, account, other_account = two_tenants
    alice = DesktopFactory(aws_account=account, user_name="Alice", state=DesktopState.AVAILABLE)
    bob = DesktopFactory(
        aws_account=account, user_name="bob", state=DesktopState.STOPPED, running_mode=RunningMode.ALWAYS_ON
    )
    DesktopFactory(aws_account=account, user_name="gone", state=DesktopState.TERMINATED)
    DesktopFactory(aws_account=other_account, user_name="alice")
    me = principal_for_user(mine.user)

    assert set(desktop_list(principal=me)) == {alice, bob}
    assert list(desktop_list(principal=me, filters=DesktopFilters(user_name="ALICE"))) == [alice]
    assert list(desktop_list(principal=me, filters=DesktopFilters(search="li"))) == [alice]
    assert list(desktop_list(principal=me, filters=DesktopFilters(states=(DesktopState.STOPPED,)))) == [bob]
    assert list(desktop_list(principal=me, filters=DesktopFilters(running_mode=RunningMode.ALWAYS_ON))) == [
        bob
    ]
    assert list(desktop_list(principal=me, filters=DesktopFilters(bundle_id=alice.bundle.bundle_id))) == [
        alice
    ]
    assert list(desktop_list(principal=me, ordering="user_name")) == [alice, bob]
    assert len(desktop_list(principal=me, filters=DesktopFilters(include_terminated=True))) == 3
    with pytest.raises(ValueError, match="ordering"):
        desktop_list(principal=me, ordering="secret_field")


def test_another_tenants_desktop_is_not_found(two_tenants):
    mine, _, _, other_account = two_tenants
    theirs = DesktopFactory(aws_account=other_account)
    with pytest.raises(Desktop.DoesNotExist):
        desktop_get(principal=principal_for_user(mine.user), pk=theirs.pk)
    with pytest.raises(Desktop.DoesNotExist):
        desktop_get(principal=principal_for_user(mine.user), workspace_id=theirs.workspace_id)
    staff = principal_for_user(StaffUserFactory())
    assert desktop_get(principal=staff, pk=theirs.pk) == theirs


def test_state_counts_and_attention(two_tenants):
    mine, _, account, other_account = two_tenants
    DesktopFactory.create_batch(3, aws_account=account, state=DesktopState.AVAILABLE)
    sick = DesktopFactory(aws_account=account, state=DesktopState.UNHEALTHY)
    lost = DesktopFactory(
        aws_account=account, state=DesktopState.STOPPED, missing_from_aws_since=timezone.now()
    )
    DesktopFactory(aws_account=other_account, state=DesktopState.ERROR)
    me = principal_for_user(mine.user)

    with CaptureQueriesContext(connection) as queries:
        counts = desktop_state_counts(principal=me)
    assert len(queries) == 1
    assert counts == {DesktopState.AVAILABLE: 3, DesktopState.UNHEALTHY: 1, DesktopState.STOPPED: 1}
    assert set(desktops_needing_attention(principal=me)) == {sick, lost}


def test_jobs_and_progress_are_scoped_and_counted_in_one_query(two_tenants):
    mine, theirs, _, _ = two_tenants
    running = JobFactory(customer=mine.customer, status=JobStatus.RUNNING)
    done = JobFactory(customer=mine.customer, status=JobStatus.SUCCEEDED)
    foreign = JobFactory(customer=theirs.customer, status=JobStatus.RUNNING)
    JobItemFactory(job=running, status=JobItemStatus.SUCCEEDED)
    JobItemFactory(job=running, status=JobItemStatus.FAILED)
    JobItemFactory(job=running, status=JobItemStatus.WAITING)
    me = principal_for_user(mine.user)

    assert set(job_list(principal=me)) == {running, done}
    assert list(jobs_in_flight(principal=me)) == [running]
    with pytest.raises(Job.DoesNotExist):
        job_get(principal=me, pk=foreign.pk)
    with CaptureQueriesContext(connection) as queries:
        progress = job_progress_many(job_ids=[running.pk, done.pk])
    assert len(queries) == 1
    assert (progress[running.pk].succeeded, progress[running.pk].failed, progress[running.pk].in_flight) == (
        1,
        1,
        1,
    )
    assert progress[done.pk].total == 0


def test_audit_events_are_scoped_and_filtered(two_tenants):
    mine, theirs, _, _ = two_tenants
    stop = AuditEventFactory(customer=mine.customer, action="StopWorkspaces", actor_label="acme-admin")
    AuditEventFactory(customer=mine.customer, action="StartWorkspaces")
    AuditEventFactory(customer=theirs.customer, action="StopWorkspaces")
    me = principal_for_user(mine.user)

    assert list(audit_event_list(principal=me, filters=AuditFilters(action="StopWorkspaces"))) == [stop]
    assert list(audit_event_list(principal=me, filters=AuditFilters(actor="admin"))) == [stop]
    later = timezone.now() + timedelta(minutes=1)
    assert list(audit_event_list(principal=me, filters=AuditFilters(since=later))) == []
    assert len(audit_event_list(principal=me)) == 2
