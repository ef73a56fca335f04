"""Bundles against the simulator: create, lost response, AWS refusals, update image, delete, sync, admin, command.

Bundle calls are short and run at once in the caller (no job), so these tests need no worker.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.errors import AwsPermanent, TagGuardRefused
from orchestration.models import AuditEvent
from orchestration.services.bundles import (
    BundleCreateRequest,
    bundle_create,
    bundle_delete,
    bundle_sync,
    bundle_update_image,
)
from tenants.models import Bundle, Image
from tests.integration.world import admin_client

pytestmark = pytest.mark.integration
ACTOR = Actor.system("test")
PARTNER_TAGS = [{"Key": "PartnerManaged", "Value": "true"}]


@pytest.fixture
def image(customer_account):
    """Our record of the onboarded customer's imported image (AVAILABLE, tagged)."""
    return Image.objects.create(
        aws_account=customer_account["aws_account"],
        region="us-east-1",
        image_id=customer_account["demo"]["image_id"],
        name="demo-win10-byop",
        state="AVAILABLE",
        ingestion_process="BYOL_REGULAR_BYOP",
        tags={"PartnerManaged": "true"},
    )


def _request(world, image, **overrides) -> BundleCreateRequest:
    fields = {
        "aws_account": world["aws_account"],
        "region": "us-east-1",
        "name": "win10-power",
        "description": "Windows 10 BYOP power",
        "image": image,
        "compute_type": "POWER",
        "root_volume_gib": 175,
        "user_volume_gib": 100,
    }
    return BundleCreateRequest(**{**fields, **overrides})


def _second_image(simulator, world) -> Image:
    """Another imported image, AVAILABLE once the simulated import time has passed."""
    demo = world["demo"]
    ami = [a for a in demo["amis"] if a["kind"] == "importable"][1]
    made = admin_client(simulator, demo).import_workspace_image(
        Ec2ImageId=ami["image_id"],
        IngestionProcess="BYOL_REGULAR_BYOP",
        ImageName="win10-golden-2",
        ImageDescription="Windows 10 golden 2",
        Tags=PARTNER_TAGS,
    )
    simulator.advance(3000)
    return Image.objects.create(
        aws_account=world["aws_account"],
        region="us-east-1",
        image_id=made["ImageId"],
        name="win10-golden-2",
        state="AVAILABLE",
        ingestion_process="BYOL_REGULAR_BYOP",
        tags={"PartnerManaged": "true"},
    )


def test_create_sends_one_tagged_call_and_records_the_bundle(customer_account, image, simulator):
    bundle = bundle_create(actor=ACTOR, request=_request(customer_account, image))

    (request,) = simulator.requests("CreateWorkspaceBundle")
    assert request["Tags"] == PARTNER_TAGS
    assert request["ComputeType"] == {"Name": "POWER"}
    assert (request["RootStorage"], request["UserStorage"]) == ({"Capacity": "175"}, {"Capacity": "100"})
    assert request["ImageId"] == image.image_id
    assert bundle.bundle_id.startswith("wsb-")
    assert (bundle.image, bundle.state, bundle.tags) == (image, "AVAILABLE", {"PartnerManaged": "true"})
    described = admin_client(simulator, customer_account["demo"]).describe_workspace_bundles(
        BundleIds=[bundle.bundle_id]
    )["Bundles"][0]
    assert described["Name"] == "win10-power"
    event = AuditEvent.objects.get(action="CreateWorkspaceBundle")
    assert (event.outcome, event.target_id, event.actor_label) == ("SUCCEEDED", bundle.bundle_id, "test")
    assert event.aws_request_id
    print(
        f"\nFIGURE bundle_create {simulator.call_counts(account_id=customer_account['aws_account'].account_id)}"
    )


def test_a_lost_create_response_is_found_by_name_not_made_twice(customer_account, image, simulator):
    simulator.schedule_fault("CreateWorkspaceBundle", "lose_response")
    bundle = bundle_create(actor=ACTOR, request=_request(customer_account, image))

    assert len(simulator.calls("CreateWorkspaceBundle")) == 1
    assert len(simulator.calls("DescribeWorkspaceBundles")) == 1
    owned = admin_client(simulator, customer_account["demo"]).describe_workspace_bundles()["Bundles"]
    assert sorted(b["Name"] for b in owned) == ["demo-win10-standard", "win10-power"]
    assert Bundle.objects.get(name="win10-power") == bundle
    event = AuditEvent.objects.get(action="CreateWorkspaceBundle")
    assert event.details["adopted"] is True


def test_aws_refusing_a_create_is_audited_and_leaves_no_row(customer_account, image, simulator):
    # The demo bundle's name is taken in AWS, though our row for it is called "acme".
    with pytest.raises(AwsPermanent) as excinfo:
        bundle_create(actor=ACTOR, request=_request(customer_account, image, name="demo-win10-standard"))
    assert excinfo.value.code == "ResourceAlreadyExistsException"
    assert not Bundle.objects.filter(name="demo-win10-standard").exists()
    event = AuditEvent.objects.get(action="CreateWorkspaceBundle")
    assert (event.outcome, event.error_code) == ("FAILED", "ResourceAlreadyExistsException")


def test_update_to_a_new_image_after_the_tag_guard_reads_aws(customer_account, image, simulator):
    newer = _second_image(simulator, customer_account)
    bundle = customer_account["bundle"]  # onboarded: our row records no tags yet
    simulator.clear_calls()

    bundle = bundle_update_image(actor=ACTOR, bundle=bundle, image=newer)

    assert [c["operation"] for c in simulator.calls() if c["service"] == "workspaces"] == [
        "DescribeTags",
        "UpdateWorkspaceBundle",
    ]
    described = admin_client(simulator, customer_account["demo"]).describe_workspace_bundles(
        BundleIds=[bundle.bundle_id]
    )["Bundles"][0]
    assert described["ImageId"] == newer.image_id
    assert Bundle.objects.get(pk=bundle.pk).image == newer
    assert Bundle.objects.get(pk=bundle.pk).tags == {"PartnerManaged": "true"}
    event = AuditEvent.objects.get(action="UpdateWorkspaceBundle")
    assert event.outcome == "SUCCEEDED" and event.details["ImageId"] == newer.image_id


def test_a_customer_bundle_without_our_tag_is_listed_never_changed(customer_account, image, simulator):
    demo = customer_account["demo"]
    theirs = admin_client(simulator, demo).create_workspace_bundle(
        BundleName="customer-own",
        BundleDescription="made by the customer",
        ImageId=image.image_id,
        ComputeType={"Name": "STANDARD"},
        RootStorage={"Capacity": "80"},
        UserStorage={"Capacity": "10"},
    )["WorkspaceBundle"]
    report = bundle_sync(aws_account=customer_account["aws_account"], region="us-east-1")
    assert report["untracked"] == [{"bundle_id": theirs["BundleId"], "name": "customer-own"}]
    assert not Bundle.objects.filter(bundle_id=theirs["BundleId"]).exists()

    # Even if someone records it, the guard asks AWS and refuses.
    row = Bundle.objects.create(
        aws_account=customer_account["aws_account"],
        region="us-east-1",
        bundle_id=theirs["BundleId"],
        name="customer-own",
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=10,
    )
    simulator.clear_calls()
    with pytest.raises(TagGuardRefused):
        bundle_delete(actor=ACTOR, bundle=row)
    assert simulator.requests("DeleteWorkspaceBundle") == []
    assert len(simulator.calls("DescribeTags")) == 1
    assert AuditEvent.objects.get(action="DeleteWorkspaceBundle").outcome == "REFUSED"


def test_delete_is_refused_by_aws_while_a_workspace_we_do_not_know_uses_it(customer_account, simulator):
    demo = customer_account["demo"]
    bundle = customer_account["bundle"]
    client = admin_client(simulator, demo)
    made = client.create_workspaces(
        Workspaces=[
            {
                "DirectoryId": demo["directory_id"],
                "UserName": "customer-admin-test",
                "BundleId": bundle.bundle_id,
                "WorkspaceProperties": {"RunningMode": "MANUAL"},
            }
        ]
    )["PendingRequests"][0]

    with pytest.raises(AwsPermanent) as excinfo:
        bundle_delete(actor=ACTOR, bundle=bundle)
    assert excinfo.value.code == "ResourceAssociatedException"
    assert Bundle.objects.filter(pk=bundle.pk).exists()

    client.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": made["WorkspaceId"]}])
    simulator.advance(400)
    bundle_delete(actor=ACTOR, bundle=bundle)
    assert not Bundle.objects.filter(pk=bundle.pk).exists()
    assert client.describe_workspace_bundles(BundleIds=[bundle.bundle_id])["Bundles"] == []
    outcomes = AuditEvent.objects.filter(action="DeleteWorkspaceBundle").order_by("id")
    assert [(e.outcome, e.error_code) for e in outcomes] == [
        ("FAILED", "ResourceAssociatedException"),
        ("SUCCEEDED", ""),
    ]
    assert len(simulator.calls("DeleteWorkspaceBundle")) == 2


def test_sync_adopts_tagged_bundles_and_marks_missing_rows(customer_account, image, simulator):
    demo = customer_account["demo"]
    tagged = admin_client(simulator, demo).create_workspace_bundle(
        BundleName="made-elsewhere",
        BundleDescription="ours from another install",
        ImageId=image.image_id,
        ComputeType={"Name": "STANDARD"},
        RootStorage={"Capacity": "80"},
        UserStorage={"Capacity": "100"},
        Tags=PARTNER_TAGS,
    )["WorkspaceBundle"]
    ghost = Bundle.objects.create(
        aws_account=customer_account["aws_account"],
        region="us-east-1",
        bundle_id="wsb-000ghost0",
        name="ghost",
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=50,
    )
    simulator.clear_calls()
    report = bundle_sync(aws_account=customer_account["aws_account"], region="us-east-1")

    assert report["adopted"] == [tagged["BundleId"]]
    assert report["missing"] == [ghost.bundle_id]
    adopted = Bundle.objects.get(bundle_id=tagged["BundleId"])
    assert (adopted.image, adopted.user_volume_gib, adopted.tags) == (image, 100, {"PartnerManaged": "true"})
    onboarded = Bundle.objects.get(pk=customer_account["bundle"].pk)
    assert (onboarded.name, onboarded.image) == ("demo-win10-standard", image)
    ghost.refresh_from_db()
    assert ghost.missing_from_aws_since is not None
    # One page of bundles, one DescribeTags per bundle (bundles are few: every run).
    counts = simulator.call_counts(account_id=customer_account["aws_account"].account_id)
    assert (counts["DescribeWorkspaceBundles"], counts["DescribeTags"]) == (1, 2)


def test_admin_create_update_and_delete(customer_account, image, simulator, staff_client):
    account = customer_account["aws_account"]
    response = staff_client.post(
        reverse("admin:tenants_bundle_create"),
        {
            "aws_account": account.pk,
            "region": "us-east-1",
            "name": "win 10",
            "description": "Windows 10",
            "image": image.pk,
            "compute_type": "STANDARD",
            "root_volume_gib": 80,
            "user_volume_gib": 20,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "no spaces" in body and "is not supported" in body
    assert simulator.requests("CreateWorkspaceBundle") == []

    response = staff_client.post(
        reverse("admin:tenants_bundle_create"),
        {
            "aws_account": account.pk,
            "region": "us-east-1",
            "name": "win10-admin",
            "description": "Windows 10 from the admin",
            "image": image.pk,
            "compute_type": "STANDARD",
            "root_volume_gib": 80,
            "user_volume_gib": 10,
        },
    )
    bundle = Bundle.objects.get(name="win10-admin")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tenants_bundle_change", args=[bundle.pk])

    newer = _second_image(simulator, customer_account)
    changelist = reverse("admin:tenants_bundle_changelist")
    page = staff_client.post(changelist, {"action": "update_image", "_selected_action": [bundle.pk]})
    assert page.status_code == 200 and "Update bundles to a new image" in page.content.decode()
    staff_client.post(
        changelist,
        {"action": "update_image", "_selected_action": [bundle.pk], "confirmed": "yes", "image": newer.pk},
    )
    assert Bundle.objects.get(pk=bundle.pk).image == newer
    staff_client.post(
        changelist, {"action": "delete_in_aws", "_selected_action": [bundle.pk], "confirmed": "yes"}
    )
    assert not Bundle.objects.filter(pk=bundle.pk).exists()
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "CreateWorkspaceBundle",
        "UpdateWorkspaceBundle",
        "DeleteWorkspaceBundle",
    ]
    assert {e.actor_label for e in AuditEvent.objects.all()} == {"staff"}


def test_the_command_lists_and_creates(customer_account, image, simulator, capsys):
    account_id = customer_account["aws_account"].account_id
    call_command(
        "bundles",
        "--account",
        account_id,
        "create",
        "--name",
        "win10-cli",
        "--description",
        "Windows 10 from the command line",
        "--image",
        image.image_id,
    )
    assert "Created wsb-" in capsys.readouterr().out
    call_command("bundles", "--account", account_id, "list")
    out = capsys.readouterr().out
    assert "win10-cli" in out and "demo-win10-standard" in out
    assert "[PartnerManaged=true]" in out
