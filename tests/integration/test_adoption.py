"""Existing WorkSpaces on a real worker, with the customer's tag policy on: a WorkSpace the customer made is
listed as untracked, adopted through the temporary stack's role once it is deployed, released again, and
listed again."""

import pytest
from django.core.management import call_command

from orchestration.actors import Actor
from orchestration.models import AuditEvent, Job
from orchestration.services.adoption import adoption_start, release_start
from orchestration.services.reconcile import reconcile_start
from tenants.models import Desktop, UntrackedWorkspace
from tests.integration.conftest import wait_for_job
from tests.integration.world import admin_client

pytestmark = pytest.mark.integration
ACTOR = Actor.system("test")


def _reconcile(world, stack) -> Job:
    job = wait_for_job(reconcile_start(actor=ACTOR, aws_account=world["aws_account"]), stack)
    assert job.status == "SUCCEEDED", job.result
    return job


def _adoption_role_keys(simulator) -> set[str]:
    """The access keys of every session the simulator issued for the adoption role (one per job)."""
    return {
        c["access_key_id"]
        for c in simulator.credentials()
        if c["role_arn"].endswith(":role/PartnerAdoptionRole")
    }


def test_adopt_then_release_a_workspace_the_customer_made(stack_factory, customer_account, simulator, capsys):
    world = customer_account
    account = world["aws_account"]
    simulator.set_tag_enforcement(account.account_id)
    demo = world["demo"]
    made = admin_client(simulator, demo).create_workspaces(
        Workspaces=[
            {
                "DirectoryId": demo["directory_id"],
                "UserName": "carol",
                "BundleId": demo["bundle_id"],
                "WorkspaceProperties": {"RunningMode": "MANUAL"},
            }
        ]
    )
    workspace_id = made["PendingRequests"][0]["WorkspaceId"]
    simulator.advance(1300)
    stack = stack_factory().start()

    # Reconciliation lists it as untracked.
    _reconcile(world, stack)
    untracked = UntrackedWorkspace.objects.get()
    assert (untracked.workspace_id, untracked.user_name, untracked.state) == (
        workspace_id,
        "carol",
        "AVAILABLE",
    )

    # Without the temporary stack AWS refuses the adoption role: the item fails and says what to do.
    refused = wait_for_job(
        adoption_start(actor=ACTOR, aws_account=account, workspace_ids=[workspace_id]), stack
    )
    assert refused.status == "FAILED"
    item = refused.items.get()
    assert item.error_code == "AccessDenied"
    assert "Deploy the temporary adoption stack" in item.error_message
    assert not Desktop.objects.filter(workspace_id=workspace_id).exists()
    assert simulator.workspace(workspace_id)["Tags"] == {}

    # The customer deploys it: the adoption tags the WorkSpace and its desktop row appears.
    simulator.deploy_adoption_stack(account.account_id)
    simulator.clear_calls()
    call_command(
        "desktops_adopt",
        "--account",
        account.account_id,
        "--workspace-ids",
        workspace_id,
        "--wait",
        "--poll-seconds",
        "0.2",
    )
    out = capsys.readouterr().out
    adopted = Job.objects.filter(kind="DESKTOP_ADOPT").latest("id")
    assert adopted.status == "SUCCEEDED"
    assert "SUCCEEDED: 1 adopted, 0 failed, 0 in progress of 1" in out
    assert f"Delete the temporary adoption stack in account {account.account_id} now" in out
    (create_tags,) = simulator.calls("CreateTags")
    assert create_tags["status"] == 200
    adoption_keys = {
        c["access_key_id"]
        for c in simulator.credentials()
        if c["role_arn"].endswith(":role/PartnerAdoptionRole")
    }
    assert create_tags["access_key_id"] in adoption_keys
    event = AuditEvent.objects.get(job_id=adopted.pk)
    assert (event.action, event.target_id, event.outcome, event.aws_request_id) == (
        "CreateTags",
        workspace_id,
        "SUCCEEDED",
        create_tags["request_id"],
    )
    desktop = Desktop.objects.get(workspace_id=workspace_id)
    assert (desktop.user_name, desktop.state, desktop.tags["PartnerManaged"]) == (
        "carol",
        "AVAILABLE",
        "true",
    )
    assert not UntrackedWorkspace.objects.exists()
    _reconcile(world, stack)  # ours now: reconciliation keeps it and lists nothing untracked
    assert not UntrackedWorkspace.objects.exists()

    # Release: the tag goes, the row stays, unmanaged; reconciliation lists the WorkSpace again.
    released = wait_for_job(
        release_start(actor=ACTOR, aws_account=account, workspace_ids=[workspace_id]), stack
    )
    assert released.status == "SUCCEEDED"
    (delete_tags,) = simulator.calls("DeleteTags")
    assert delete_tags["status"] == 200 and delete_tags["access_key_id"] in _adoption_role_keys(simulator)
    assert (
        AuditEvent.objects.get(job_id=released.pk, action="DeleteTags").aws_request_id
        == delete_tags["request_id"]
    )
    assert simulator.workspace(workspace_id)["Tags"] == {}
    desktop.refresh_from_db()
    assert desktop.unmanaged_at is not None and desktop.unmanaged_reason == "RELEASED"
    _reconcile(world, stack)
    assert UntrackedWorkspace.objects.get().workspace_id == workspace_id
    assert Desktop.objects.get(workspace_id=workspace_id).unmanaged_reason == "RELEASED"

    # Every partner-tag call went through the adoption role; the steady-state role made none.
    tag_calls = simulator.calls("CreateTags") + simulator.calls("DeleteTags")
    assert {c["access_key_id"] for c in tag_calls} <= _adoption_role_keys(simulator)
