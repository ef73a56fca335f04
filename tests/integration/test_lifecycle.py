"""The whole WorkSpaces Core lifecycle under the customer's tag-based IAM policy, from a fresh account.

Onboarding, BYOL, directory, image, bundle, desktops, power, modify, terminate and reconciliation run
through the services with a real worker while the simulator enforces the seed's tag policy (R2): every
call must pass it. A WorkSpace the customer made behind our back, without the tag, cannot be stopped,
modified or terminated through the control plane (S5).
"""

import pytest
from django.core.management import CommandError, call_command

from orchestration.actors import Actor
from orchestration.models import AuditEvent
from orchestration.services.bundles import BundleCreateRequest, bundle_create
from orchestration.services.byol import byol_cidr_ranges, byol_setup_start
from orchestration.services.desktop_actions import DesktopAction, DesktopActionInvalid, desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.directories import directory_register
from orchestration.services.images import image_import
from orchestration.services.onboarding import account_verify
from orchestration.services.reconcile import reconcile_start
from tenants.models import AwsAccount, Customer, Desktop, Directory, Image
from tests.integration.conftest import wait_for_job
from tests.integration.world import admin_client, aws_runs_fast

pytestmark = pytest.mark.integration

ACCESS_DENIED = {"AccessDenied", "AccessDeniedException"}
MUTATIONS = ("StopWorkspaces", "ModifyWorkspaceProperties", "TerminateWorkspaces")


@pytest.fixture
def fresh_enforced_customer(transactional_db, simulator, settings):
    """A customer who just deployed our template: nothing set up, the tag policy enforced."""
    settings.PARTNER_AWS_ACCOUNT_ID = "123456789012"
    demo = simulator.create_demo_world(ready=False)["accounts"][0]
    customer = Customer.objects.create(name="Acme", slug="acme")
    account = AwsAccount.objects.create(
        customer=customer,
        account_id=demo["account_id"],
        role_arn=demo["role_arn"],
        default_region=demo["region"],
        regions=[demo["region"]],
        byop_enabled=True,
    )
    simulator.update_account(account.account_id, external_id=account.external_id)
    simulator.set_tag_enforcement(account.account_id, enabled=True, strict_keys=True)
    aws_runs_fast(simulator)
    simulator.clear_calls()
    return {"customer": customer, "aws_account": account, "demo": demo}


def test_the_whole_lifecycle_passes_the_tag_policy_and_untagged_resources_stay_untouched(
    stack_factory, fresh_enforced_customer, simulator, capsys
):
    world = fresh_enforced_customer
    customer, account, demo = world["customer"], world["aws_account"], world["demo"]
    actor = Actor.system("lifecycle test")
    stack = stack_factory().start()

    # Onboarding: the connection works and names the customer's account.
    verification = account_verify(actor=actor, aws_account=account)
    assert verification.ok, verification
    # BYOL: an offered /16, confirmed by typing it again; ModifyAccount once, followed to COMPLETED.
    cidr = byol_cidr_ranges(aws_account=account, constraint="10.0.0.0/8").ranges[0]
    byol = byol_setup_start(actor=actor, aws_account=account, cidr=cidr, confirmation=cidr)
    assert wait_for_job(byol, stack).status == "SUCCEEDED"
    account.refresh_from_db()
    assert account.dedicated_tenancy_management_cidr_range == cidr
    # The directory: DEDICATED by the BYOL rule, tagged, followed to REGISTERED.
    register = directory_register(
        actor=actor,
        aws_account=account,
        region=demo["region"],
        directory_id=demo["directory_id"],
        subnet_ids=demo["subnet_ids"],
    )
    assert wait_for_job(register, stack).status == "SUCCEEDED"
    directory = Directory.objects.get(directory_id=demo["directory_id"])
    assert (directory.state, directory.tenancy) == ("REGISTERED", "DEDICATED")
    # The image: a BYOP import of the customer's AMI, followed to AVAILABLE.
    ami = next(a for a in demo["amis"] if a["kind"] == "importable")
    imported = image_import(
        actor=actor, aws_account=account, region=demo["region"], ami_id=ami["image_id"], name="win11-base"
    )
    assert wait_for_job(imported, stack, timeout=180).status == "SUCCEEDED"
    image = Image.objects.get(name="win11-base")
    assert image.state == "AVAILABLE"
    # The bundle, then desktops from it.
    bundle = bundle_create(
        actor=actor,
        request=BundleCreateRequest(
            aws_account=account,
            region=demo["region"],
            name="win11-standard",
            description="Windows 11 standard",
            image=image,
            compute_type="STANDARD",
            root_volume_gib=80,
            user_volume_gib=50,
        ),
    )
    created = desktop_create_bulk(
        actor=actor,
        request=DesktopCreateRequest(
            customer=customer,
            aws_account=account,
            directory=directory,
            bundle=bundle,
            user_names=["alice", "bob", "carol"],
        ),
    )
    assert wait_for_job(created, stack).status == "SUCCEEDED"
    desktops = list(Desktop.objects.filter(job_items__job=created).order_by("user_name"))

    def act(action, selection, params=None):
        job = desktop_action_bulk(
            actor=actor, customer=customer, desktops=selection, action=action, params=params
        )
        assert wait_for_job(job, stack).status == "SUCCEEDED", job
        return job

    act(DesktopAction.STOP, desktops)
    act(DesktopAction.START, desktops)
    act(DesktopAction.MODIFY, desktops[:1], {"compute_type": "PERFORMANCE"})
    assert (
        simulator.workspace(desktops[0].workspace_id)["WorkspaceProperties"]["ComputeTypeName"]
        == "PERFORMANCE"
    )
    act(DesktopAction.TERMINATE, desktops[2:])

    # The customer's admin makes a WorkSpace behind our back, without the tag.
    stray = admin_client(simulator, demo).create_workspaces(
        Workspaces=[
            {
                "DirectoryId": directory.directory_id,
                "UserName": "mallory",
                "BundleId": bundle.bundle_id,
                "WorkspaceProperties": {"RunningMode": "MANUAL"},
            }
        ]
    )["PendingRequests"][0]["WorkspaceId"]
    reconcile = reconcile_start(actor=actor, aws_account=account)
    assert wait_for_job(reconcile, stack).status == "SUCCEEDED"
    reconcile.refresh_from_db()
    region_report = reconcile.result["regions"][demo["region"]]["desktops"]
    assert stray in [entry["workspace_id"] for entry in region_report["untracked"]]
    assert not Desktop.objects.filter(workspace_id=stray).exists()

    # Every call of the lifecycle passed the customer's tag policy.
    denied = [c for c in simulator.calls() if c.get("error_code") in ACCESS_DENIED]
    assert denied == []

    # Not ours: refused at the entry point, before any call.
    simulator.clear_calls()
    for action in ("stop", "terminate"):
        with pytest.raises(CommandError, match="not managed"):
            call_command(
                "desktops_action", action, "--account", account.account_id, "--workspace-ids", stray, "--yes"
            )
    # Even with a row (say it lost its tag after adoption), the tag guard refuses it.
    row = Desktop.objects.create(
        aws_account=account,
        region=demo["region"],
        directory=directory,
        bundle=bundle,
        workspace_id=stray,
        user_name="mallory",
        state="AVAILABLE",
        tags={},
    )
    for action, params in (
        (DesktopAction.STOP, None),
        (DesktopAction.MODIFY, {"compute_type": "PERFORMANCE"}),
        (DesktopAction.TERMINATE, None),
    ):
        with pytest.raises(DesktopActionInvalid, match="PartnerManaged"):
            desktop_action_bulk(actor=actor, customer=customer, desktops=[row], action=action, params=params)
    counts = simulator.call_counts()
    assert all(counts.get(operation, 0) == 0 for operation in MUTATIONS), counts
    assert simulator.workspace(stray)["State"] in ("PENDING", "AVAILABLE")
    assert AuditEvent.objects.filter(target_id=stray, outcome="REFUSED").count() >= 3
    print(
        "\nFIGURE lifecycle tag_enforcement=on access_denied=0 "
        f"untagged_mutations=0 audit_events={AuditEvent.objects.count()}"
    )
