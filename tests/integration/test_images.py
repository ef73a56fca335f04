"""Images end to end: a real worker and beat, Redis, PostgreSQL and the simulator (R4, R11, F10, F11, S5)."""

import io
import os

import boto3
import pytest
from django.core.management import call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.images import workspace_images_owned
from orchestration.models import AuditEvent, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.images import (
    ImageInvalid,
    ami_list,
    image_create_from_desktop,
    image_delete,
    image_import,
    image_permission_list,
    image_permission_update,
    image_sync,
)
from tenants.models import Desktop, Image
from tests.integration.conftest import wait_for_job
from tests.integration.stack import SHORT_LEASE

pytestmark = pytest.mark.integration
ACTOR = Actor.system("image test")
PARTNER = "123456789012"  # the only account a customer's image is shared with
# An AMI whose 20 GiB disk passes our checks but has too little free space for AWS's validation.
CRAMPED_AMI = "ami-0000000000000c0de"


def _ami(world, kind: str, n: int = 0) -> dict:
    return [ami for ami in world["demo"]["amis"] if ami["kind"] == kind][n]


def _seed_cramped_ami(world) -> None:
    """Add an AMI the demo world lacks; only the in-process simulator can be given one."""
    if os.environ.get("SIMULATOR_ENDPOINT_URL"):
        pytest.skip("adding an AMI needs the simulator in this process")
    from simulator.amis import AmiSpec, seed_amis
    from simulator.state import STATE

    spec = AmiSpec("win10-ent-cramped", "Windows 10 Enterprise (20 GiB disk)", volume_size=20)
    with STATE.lock:
        seed_amis(world["aws_account"].account_id, world["demo"]["region"], [CRAMPED_AMI], (spec,))


def _owned_named(world, name: str, region: str = "us-east-1") -> list:
    access = account_access(world["aws_account"], region=region)
    return [image for image in workspace_images_owned(access) if image.name == name]


def _admin_workspaces(world, simulator):
    """The customer's own admin (not our role): it may make and delete images without our tag."""
    demo = world["demo"]
    return boto3.client(
        "workspaces",
        endpoint_url=simulator.endpoint_url,
        region_name=demo["region"],
        aws_access_key_id=demo["admin_access_key_id"],
        aws_secret_access_key=demo["admin_secret_access_key"],
    )


def test_import_follows_the_image_to_available_or_to_error_with_aws_words(
    stack_factory, customer_account, simulator
):
    world = customer_account
    simulator.set_tag_enforcement(world["aws_account"].account_id)
    _seed_cramped_ami(world)
    stack = stack_factory().start()
    good = image_import(
        actor=ACTOR,
        aws_account=world["aws_account"],
        region="us-east-1",
        ami_id=_ami(world, "importable", 1)["image_id"],
        name="win11-ent-23h2",
        description="Windows 11 Enterprise 23H2",
    )
    cramped = image_import(
        actor=ACTOR,
        aws_account=world["aws_account"],
        region="us-east-1",
        ami_id=CRAMPED_AMI,
        name="win10-cramped",
        ingestion_process="BYOL_GRAPHICS_G4DN_BYOP",
    )
    good, cramped = wait_for_job(good, stack), wait_for_job(cramped, stack)

    assert good.status == "SUCCEEDED"
    image = Image.objects.get(name="win11-ent-23h2")
    assert (image.state, image.source_ami_id, image.ingestion_process) == (
        "AVAILABLE",
        _ami(world, "importable", 1)["image_id"],
        "BYOL_REGULAR_BYOP",
    )
    assert (image.required_tenancy, image.tags) == ("DEDICATED", {"PartnerManaged": "true"})
    imports = simulator.requests("ImportWorkspaceImage")
    assert len(imports) == 2
    assert all({"Key": "PartnerManaged", "Value": "true"} in request["Tags"] for request in imports)
    assert {r["IngestionProcess"] for r in imports} == {"BYOL_REGULAR_BYOP", "BYOL_GRAPHICS_G4DN_BYOP"}
    assert JobItem.objects.get(job=good).aws_resource_id == image.image_id

    assert cramped.status == "FAILED"
    item = JobItem.objects.get(job=cramped)
    assert item.error_code == "ImageImportValidationFailed"
    assert "InsufficientDiskSpace: The root volume is 20 GiB" in item.error_message
    failed = Image.objects.get(name="win10-cramped")
    assert (failed.state, failed.error_code, failed.error_message) == (
        "ERROR",
        item.error_code,
        item.error_message,
    )

    events = AuditEvent.objects.filter(action="ImportWorkspaceImage", outcome="SUCCEEDED")
    assert sorted(e.target_id for e in events) == sorted([image.image_id, failed.image_id])
    assert all(e.aws_request_id for e in events)
    counts = simulator.call_counts()
    print(
        f"\nFIGURE image_import ec2:DescribeImages={counts.get('ec2:DescribeImages')} "
        f"DescribeAccount={counts.get('DescribeAccount')} ImportWorkspaceImage={counts['ImportWorkspaceImage']} "
        f"DescribeWorkspaceImages={counts.get('DescribeWorkspaceImages')} (2 imports)"
    )


def test_bad_imports_are_refused_before_any_import_call(customer_account, simulator, staff_client):
    world = customer_account
    account = world["aws_account"]

    def refused(**fields) -> dict[str, list[str]]:
        request = {
            "ami_id": _ami(world, "importable")["image_id"],
            "name": "win10",
            "region": "us-east-1",
        } | fields
        with pytest.raises(ImageInvalid) as excinfo:
            image_import(actor=ACTOR, aws_account=account, **request)
        return excinfo.value.errors

    assert "encrypted" in refused(ami_id=_ami(world, "encrypted")["image_id"])["ami_id"][0]
    assert "The AMI is pending" in refused(ami_id=_ami(world, "pending")["image_id"])["ami_id"][0]
    assert "must be 10 GiB or more" in refused(ami_id=_ami(world, "too_small")["image_id"])["ami_id"][0]
    assert "at most 70 GiB" in refused(ami_id=_ami(world, "too_large")["image_id"])["ami_id"][0]
    assert "only machine images" in refused(ami_id=_ami(world, "not_machine")["image_id"])["ami_id"][0]
    assert "owns no AMI" in refused(ami_id="ami-0123456789abcdef0")["ami_id"][0]
    reads = simulator.call_counts().get("ec2:DescribeImages")
    assert "is not an AMI id" in refused(ami_id="ami-XYZ")["ami_id"][0]
    assert "Not allowed in an image name" in refused(name="win10 <golden>")["name"][0]
    assert (
        "not a Bring Your Own Protocol" in refused(ingestion_process="BYOL_REGULAR")["ingestion_process"][0]
    )
    account.byop_enabled = False
    account.save()
    assert "not enabled for Bring Your Own Protocol" in refused()["aws_account"][0]
    account.byop_enabled = True
    account.save()
    # Locally bad requests never read AWS at all.
    assert simulator.call_counts().get("ec2:DescribeImages") == reads

    page = staff_client.get(
        reverse("admin:tenants_image_import"), {"aws_account": account.pk}
    ).content.decode()
    for kind in ("importable", "encrypted", "too_small", "too_large"):
        assert _ami(world, kind)["image_id"] in page
    # The seed's filters leave out AMIs that are still pending or are not machine images.
    assert (
        _ami(world, "pending")["image_id"] not in page and _ami(world, "not_machine")["image_id"] not in page
    )
    assert "WorkSpaces does not import encrypted AMIs" in page
    response = staff_client.post(
        reverse("admin:tenants_image_import") + f"?aws_account={account.pk}",
        {
            "ami_id": _ami(world, "encrypted")["image_id"],
            "name": "win10-enc",
            "ingestion_process": "BYOL_REGULAR_BYOP",
        },
    )
    assert "WorkSpaces does not import encrypted AMIs" in response.content.decode()

    assert simulator.call_counts().get("ImportWorkspaceImage", 0) == 0
    assert AuditEvent.objects.filter(action="ImportWorkspaceImage", outcome="REFUSED").count() == 6
    amis = {ami.image_id: ami for ami in ami_list(aws_account=account, region="us-east-1")}
    assert sorted(a["kind"] for a in world["demo"]["amis"] if a["image_id"] in amis) == [
        "encrypted",
        "importable",
        "importable",
        "too_large",
        "too_small",
    ]
    print("\nFIGURE image_import_refusals bad_requests=11 ImportWorkspaceImage=0")


def test_a_lost_import_response_adopts_the_image_instead_of_importing_twice(
    stack_factory, customer_account, simulator
):
    world = customer_account
    stack = stack_factory().start()
    simulator.schedule_fault("ImportWorkspaceImage", "lose_response")
    job = image_import(
        actor=ACTOR,
        aws_account=world["aws_account"],
        region="us-east-1",
        ami_id=_ami(world, "importable", 1)["image_id"],
        name="win11-lost-response",
    )
    job = wait_for_job(job, stack)

    assert job.status == "SUCCEEDED"
    assert len(_owned_named(world, "win11-lost-response")) == 1
    calls = simulator.calls("ImportWorkspaceImage")
    assert [(c["status"], c["fault"]) for c in calls] == [(500, "lose_response")]
    item = JobItem.objects.get(job=job)
    assert item.attempts == 2
    adopted = AuditEvent.objects.get(job=job, action="ImportWorkspaceImage")
    assert adopted.details["adopted"] is True and adopted.target_id == item.aws_resource_id
    assert Image.objects.filter(name="win11-lost-response").count() == 1
    print(f"\nFIGURE image_import_lost_response images_in_aws=1 ImportWorkspaceImage={len(calls)}")


def test_image_from_a_desktop_survives_a_crash_after_the_call_then_copies_to_a_second_region(
    stack_factory, customer_account, simulator
):
    world = customer_account
    account = world["aws_account"]
    account.regions = ["us-east-1", "us-west-2"]
    account.save()
    simulator.set_tag_enforcement(account.account_id)
    stack = stack_factory({"ORCHESTRATION_FAILPOINTS": "image.after_create_call:1", **SHORT_LEASE}).start()
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    made = wait_for_job(
        desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields, count=1)), stack
    )
    assert made.status == "SUCCEEDED"
    desktop = Desktop.objects.get(job_items__job=made)

    job = wait_for_job(
        image_create_from_desktop(actor=ACTOR, desktop=desktop, name="golden-2024.06", description="nightly"),
        stack,
    )
    assert job.status == "SUCCEEDED"
    assert "SIGKILL" in stack.worker.log() or "WorkerLostError" in stack.worker.log()
    assert len(_owned_named(world, "golden-2024.06")) == 1
    creates = simulator.requests("CreateWorkspaceImage")
    assert len(creates) == 1 and creates[0]["WorkspaceId"] == desktop.workspace_id
    assert {"Key": "PartnerManaged", "Value": "true"} in creates[0]["Tags"]
    golden = Image.objects.get(name="golden-2024.06", region="us-east-1")
    assert golden.state == "AVAILABLE"
    assert JobItem.objects.get(job=job).attempts == 2

    # Through the command this time, as a script would: it waits and prints where each copy landed.
    out = io.StringIO()
    call_command(
        "images",
        "--account",
        account.account_id,
        "copy",
        "--image",
        golden.image_id,
        "--regions",
        "us-west-2",
        "--wait",
        "--poll-seconds",
        "0.3",
        stdout=out,
    )
    copied = Image.objects.get(region="us-west-2")
    assert "SUCCEEDED: 1 done, 0 failed, 0 in progress of 1" in out.getvalue()
    assert f"us-west-2: {copied.image_id} SUCCEEDED" in out.getvalue()
    [call] = simulator.calls("CopyWorkspaceImage")
    assert call["region"] == "us-west-2"
    assert (call["request"]["SourceRegion"], call["request"]["SourceImageId"]) == (
        "us-east-1",
        golden.image_id,
    )
    assert {"Key": "PartnerManaged", "Value": "true"} in call["request"]["Tags"]
    assert (copied.name, copied.state, copied.source_image) == ("golden-2024.06", "AVAILABLE", golden)
    assert len(_owned_named(world, "golden-2024.06", region="us-west-2")) == 1
    counts = simulator.call_counts()
    print(
        f"\nFIGURE image_create_copy CreateWorkspaceImage={counts['CreateWorkspaceImage']} "
        f"CopyWorkspaceImage={counts['CopyWorkspaceImage']} DescribeWorkspaceImages={counts['DescribeWorkspaceImages']}"
    )


def test_sync_adopts_ours_and_share_delete_keep_to_the_guards(customer_account, simulator):
    world = customer_account
    account, demo = world["aws_account"], world["demo"]
    simulator.set_tag_enforcement(account.account_id)
    admin = _admin_workspaces(world, simulator)
    untagged = admin.import_workspace_image(
        Ec2ImageId=_ami(world, "importable", 1)["image_id"],
        IngestionProcess="BYOL_REGULAR_BYOP",
        ImageName="customer-own-image",
        ImageDescription="Made by the customer",
    )["ImageId"]
    spare, vanishing = (
        admin.import_workspace_image(
            Ec2ImageId=_ami(world, "importable", 1)["image_id"],
            IngestionProcess="BYOL_REGULAR_BYOP",
            ImageName=name,
            ImageDescription="Tagged by the customer for us",
            Tags=[{"Key": "PartnerManaged", "Value": "true"}],
        )["ImageId"]
        for name in ("spare", "vanishing")
    )
    simulator.advance(3000)  # the imports settle

    report = image_sync(aws_account=account, region="us-east-1")
    assert sorted(report["adopted"]) == sorted([demo["image_id"], spare, vanishing])
    assert [i["image_id"] for i in report["not_ours"]] == [untagged]
    assert not Image.objects.filter(image_id=untagged).exists()
    assert Image.objects.get(image_id=spare).state == "AVAILABLE"

    # Delete is refused while a bundle uses the image, and the bundle is named; AWS is not asked.
    world["bundle"].image = Image.objects.get(image_id=demo["image_id"])
    world["bundle"].save()
    simulator.clear_calls()
    with pytest.raises(ImageInvalid) as excinfo:
        image_delete(actor=ACTOR, image=world["bundle"].image)
    assert f"used by bundle(s) acme ({demo['bundle_id']})" in excinfo.value.errors["image"][0]
    # An image we hold a record of but never tagged is checked in AWS (DescribeTags) and refused.
    legacy = Image.objects.create(
        aws_account=account,
        region="us-east-1",
        image_id=untagged,
        name="customer-own-image",
        state="AVAILABLE",
    )
    with pytest.raises(ImageInvalid) as excinfo:
        image_delete(actor=ACTOR, image=legacy)
    assert "not tagged PartnerManaged=true" in excinfo.value.errors["image"][0]
    assert simulator.call_counts().get("DeleteWorkspaceImage", 0) == 0
    assert simulator.call_counts().get("DescribeTags") == 1

    image = Image.objects.get(image_id=spare)
    image_permission_update(actor=ACTOR, image=image, account_id=PARTNER, allow=True)
    assert image_permission_list(image=image) == [PARTNER]
    image_permission_update(actor=ACTOR, image=image, account_id=PARTNER, allow=False)
    assert image_permission_list(image=image) == []
    image_delete(actor=ACTOR, image=image)
    assert not Image.objects.filter(image_id=spare).exists()
    assert _owned_named(world, "spare") == []
    outcomes = list(
        AuditEvent.objects.filter(target_id__in=[spare, demo["image_id"], untagged])
        .order_by("id")
        .values_list("action", "outcome")
    )
    assert outcomes == [
        ("DeleteWorkspaceImage", "REFUSED"),
        ("DeleteWorkspaceImage", "REFUSED"),
        ("UpdateWorkspaceImagePermission", "SUCCEEDED"),
        ("UpdateWorkspaceImagePermission", "SUCCEEDED"),
        ("DeleteWorkspaceImage", "SUCCEEDED"),
    ]
    assert all(e.aws_request_id for e in AuditEvent.objects.filter(outcome="SUCCEEDED"))

    admin.delete_workspace_image(ImageId=vanishing)
    report = image_sync(aws_account=account, region="us-east-1")
    assert report["missing"] == [vanishing] and report["adopted"] == []
    assert Image.objects.get(image_id=vanishing).missing_from_aws_since is not None
