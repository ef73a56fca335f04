"""Reconciliation writes what AWS reports differently in one UPDATE, however many desktops changed; a row a
job wrote while the listing ran is left as the job wrote it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.aws.workspaces import DescribedWorkspace
from orchestration.services.accounts import account_access
from orchestration.services.reconcile import _DesktopSync
from tenants.models import Desktop, DesktopStateChange
from tests.factories import AwsAccountFactory, BundleFactory, DesktopFactory, DirectoryFactory

pytestmark = pytest.mark.django_db


def _fleet(count: int):
    account = AwsAccountFactory()
    directory = DirectoryFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)
    desktops = [
        DesktopFactory(
            aws_account=account,
            directory=directory,
            bundle=bundle,
            region=directory.region,
            workspace_id=f"ws-{account.pk}-{n}",
            state="AVAILABLE",
            computer_name="OLD",
        )
        for n in range(count)
    ]
    return account, directory, desktops


def _reported(desktop: Desktop, directory, **fields) -> DescribedWorkspace:
    assert desktop.workspace_id is not None
    return DescribedWorkspace(
        workspace_id=desktop.workspace_id,
        directory_id=directory.directory_id,
        user_name=desktop.user_name,
        state=fields.get("state", desktop.state),
        computer_name=fields.get("computer_name", desktop.computer_name),
        ip_address=desktop.ip_address or "",
        running_mode=desktop.running_mode,
        compute_type=desktop.compute_type,
        root_volume_gib=desktop.root_volume_gib,
        user_volume_gib=desktop.user_volume_gib,
    )


def _sync(count: int) -> tuple[int, list[Desktop], Desktop]:
    """`count` desktops AWS reports STOPPED (every other one also renamed), one of them written by a job
    after the listing began; returns the UPDATEs of desktops the sync ran, the rows, and the job's row."""
    account, directory, desktops = _fleet(count)
    started = timezone.now()
    reported = {
        d.workspace_id: _reported(
            d, directory, state="STOPPED", **({"computer_name": "NEW"} if n % 2 else {})
        )
        for n, d in enumerate(desktops)
    }
    busy = desktops[0]
    Desktop.objects.filter(pk=busy.pk).update(state="REBOOTING", updated_at=started + timedelta(seconds=1))
    sync = _DesktopSync(
        aws_account=account,
        region=directory.region,
        access=account_access(account, region=directory.region),
        started=started,
        reported=reported,
    )
    with CaptureQueriesContext(connection) as queries:
        sync.update_known()
    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "tenants_desktop"')]
    assert sync.updated == count - 1
    return len(updates), list(Desktop.objects.filter(pk__in=[d.pk for d in desktops]).order_by("pk")), busy


def test_a_reconciliation_writes_all_changed_desktops_in_one_update_and_each_state_change_is_recorded():
    few, _, _ = _sync(4)
    updates, rows, busy = _sync(40)
    assert updates == few == 1  # one UPDATE of the changed rows, whether 3 or 39 (none is unchanged)
    assert all(r.state == "STOPPED" for r in rows if r.pk != busy.pk)
    assert [r.computer_name for r in rows[1:4]] == ["NEW", "OLD", "NEW"]
    assert Desktop.objects.get(pk=busy.pk).state == "REBOOTING"  # the job's write stands
    recorded = DesktopStateChange.objects.filter(desktop__in=rows[1:], state="STOPPED").count()
    assert recorded == len(rows) - 1


def _gone(count: int) -> tuple[int, list[Desktop], _DesktopSync]:
    """`count` desktops AWS no longer lists, in each of three kinds: live ones (missing), TERMINATING
    ones (now terminated), TERMINATED ones not yet marked gone; returns the UPDATEs mark_gone ran."""
    account, directory, live = _fleet(count)
    terminating = [
        DesktopFactory(aws_account=account, directory=directory, state="TERMINATING") for _ in range(count)
    ]
    terminated = [
        DesktopFactory(aws_account=account, directory=directory, state="TERMINATED") for _ in range(count)
    ]
    sync = _DesktopSync(
        aws_account=account,
        region=directory.region,
        access=account_access(account, region=directory.region),
        started=timezone.now(),
        reported={},
    )
    with CaptureQueriesContext(connection) as queries:
        sync.mark_gone()
    updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "tenants_desktop"')]
    rows = list(Desktop.objects.filter(pk__in=[d.pk for d in live + terminating + terminated]).order_by("pk"))
    return len(updates), rows, sync


def test_desktops_aws_no_longer_lists_are_marked_in_a_fixed_number_of_updates():
    few, _, _ = _gone(1)
    updates, rows, sync = _gone(30)
    assert updates == few == 2  # missing and gone-now in one, newly terminated in the other
    assert len(sync.lists["missing"]) == 30 and len(sync.lists["terminated"]) == 60
    assert {r.state for r in rows} == {"AVAILABLE", "TERMINATED"}
    assert all(r.missing_from_aws_since == sync.now for r in rows)
    newly_terminated = [r for r in rows if r.state_changed_at == sync.now]
    assert len(newly_terminated) == 30  # the TERMINATING ones; the TERMINATED ones keep their date
