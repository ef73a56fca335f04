"""One mapping from AWS's report of a WorkSpace to our Desktop row, used by desktop creation's poll, the
desktop actions' poll and reconciliation alike: AWS's report wins, an IP address AWS no longer reports
is cleared (it may belong to another desktop by now)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.workspaces import DescribedWorkspace
from orchestration.choices import JobKind
from orchestration.engine.items import items_claim, items_wait
from orchestration.engine.jobs import NewItem, job_create
from orchestration.services.desktop_actions import DesktopActionRunner
from orchestration.services.desktop_actions.polling import settle_reported
from orchestration.services.desktop_rows import desktop_from_workspace, desktop_reported_changes
from orchestration.services.desktops import DesktopCreateRunner
from orchestration.services.reconcile import _changes
from tenants.models import Desktop
from tests.factories import DesktopFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def _reported(desktop: Desktop, **fields) -> DescribedWorkspace:
    base = DescribedWorkspace(
        workspace_id=desktop.workspace_id or "",
        directory_id=desktop.directory.directory_id,
        user_name=desktop.user_name,
        state=desktop.state,
        computer_name=desktop.computer_name,
        ip_address=desktop.ip_address or "",
        running_mode=desktop.running_mode,
        compute_type=desktop.compute_type,
        root_volume_gib=desktop.root_volume_gib,
        user_volume_gib=desktop.user_volume_gib,
    )
    return replace(base, **fields)


def test_aws_is_the_truth_for_what_it_reports_and_our_row_keeps_what_it_leaves_out():
    desktop = DesktopFactory(
        state="AVAILABLE",
        ip_address="10.0.1.5",
        computer_name="WSAMZN-OLD",
        compute_type="PERFORMANCE",
        root_volume_gib=80,
        user_volume_gib=50,
        missing_from_aws_since=NOW - timedelta(hours=1),
    )
    workspace = _reported(
        desktop,
        state="STOPPED",
        ip_address="",
        computer_name="",
        running_mode="",
        compute_type="",
        root_volume_gib=None,
        user_volume_gib=None,
        error_code="X",
        error_message="Y",
    )
    assert desktop_reported_changes(desktop, workspace, now=NOW) == {
        "state": "STOPPED",
        "state_changed_at": NOW,
        "ip_address": None,  # no IP reported: none, not the one it had
        "computer_name": "",
        "error_code": "X",
        "error_message": "Y",
        "missing_from_aws_since": None,  # AWS reports it again
    }
    assert desktop_reported_changes(desktop, _reported(desktop), now=NOW) == {"missing_from_aws_since": None}


def test_an_adopted_row_is_made_from_the_same_mapping():
    template = DesktopFactory(ip_address=None)
    workspace = _reported(template, workspace_id="ws-adopted01", ip_address="10.0.9.9", computer_name="WS-9")
    row = desktop_from_workspace(
        workspace,
        aws_account=template.aws_account,
        region="us-east-1",
        directory=template.directory,
        bundle=None,
        tags={"PartnerManaged": "true"},
        now=NOW,
    )
    assert (row.workspace_id, row.ip_address, row.computer_name, row.state, row.state_changed_at) == (
        "ws-adopted01",
        "10.0.9.9",
        "WS-9",
        template.state,
        NOW,
    )


@pytest.fixture
def desktop_with_ip():
    return DesktopFactory(
        state="STOPPING", ip_address="10.0.1.5", computer_name="WSAMZN-1", tags={"PartnerManaged": "true"}
    )


def _waiting_item(desktop: Desktop, kind: str, params: dict):
    job = job_create(
        kind=kind,
        actor=Actor.system("test"),
        customer=desktop.aws_account.customer,
        params=params,
        items=[
            NewItem(
                desktop=desktop,
                aws_resource_id=desktop.workspace_id or "",
                params={"from_state": "AVAILABLE"},
            )
        ],
    )
    items = items_claim(job_id=job.pk, item_ids=[job.items.get().pk]).items
    items_wait(items, poll_in=0)
    return job, items[0]


def test_the_three_copies_agree_on_an_ip_address_aws_no_longer_reports(desktop_with_ip):
    desktop = desktop_with_ip
    workspace = _reported(desktop, state="STOPPED", ip_address="")

    # Reconciliation.
    assert _changes(desktop, workspace, {}, NOW)["ip_address"] is None

    # The desktop actions' poll (a stop, here).
    job, item = _waiting_item(desktop, JobKind.DESKTOP_STOP, {"action": "stop"})
    runner = DesktopActionRunner(job)
    item.desktop = Desktop.objects.get(pk=desktop.pk)
    runner.desktops = {desktop.pk: item.desktop}
    settle_reported(runner, [item], {desktop.workspace_id: workspace})
    assert Desktop.objects.get(pk=desktop.pk).ip_address is None
    assert item.status == "SUCCEEDED"

    # Desktop creation's poll.
    Desktop.objects.filter(pk=desktop.pk).update(ip_address="10.0.1.5", state="PENDING")
    job, item = _waiting_item(desktop, JobKind.DESKTOP_CREATE, {})
    DesktopCreateRunner(job)._settle([item], {desktop.workspace_id: replace(workspace, state="AVAILABLE")})
    after = Desktop.objects.get(pk=desktop.pk)
    assert (after.ip_address, after.state, item.status) == (None, "AVAILABLE", "SUCCEEDED")


def test_an_older_report_from_an_overlapping_poll_never_undoes_a_settled_desktop():
    # Two polls of one job overlapped: the quicker saw AVAILABLE and settled the item; the slower one,
    # which asked AWS earlier and heard PENDING, commits afterwards and must change nothing.
    desktop = DesktopFactory(state="PENDING", tags={"PartnerManaged": "true"})
    job, item = _waiting_item(desktop, JobKind.DESKTOP_CREATE, {})
    stale_item = job.items.get()
    DesktopCreateRunner(job)._settle([item], {desktop.workspace_id: _reported(desktop, state="AVAILABLE")})
    DesktopCreateRunner(job)._settle(
        [stale_item], {desktop.workspace_id: _reported(desktop, state="PENDING")}
    )
    assert Desktop.objects.get(pk=desktop.pk).state == "AVAILABLE"
    assert job.items.get().status == "SUCCEEDED"

    # The same for a desktop action's poll (a start that AVAILABLE finished).
    Desktop.objects.filter(pk=desktop.pk).update(state="STARTING")
    job, item = _waiting_item(desktop, JobKind.DESKTOP_START, {"action": "start"})
    stale_item = job.items.get()
    for polled, state in ((item, "AVAILABLE"), (stale_item, "STARTING")):
        runner = DesktopActionRunner(job)
        polled.desktop = Desktop.objects.get(pk=desktop.pk)
        runner.desktops = {desktop.pk: polled.desktop}
        settle_reported(runner, [polled], {desktop.workspace_id: _reported(desktop, state=state)})
    assert Desktop.objects.get(pk=desktop.pk).state == "AVAILABLE"
    assert job.items.get().status == "SUCCEEDED"
