"""Images without the network: bad input refused before any AWS call (F11), the tag guard (S5), AMI rules,
AWS's error text, the command and the admin pages."""

from dataclasses import replace
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.images import Ami, ImageErrorDetail, WorkspaceImage
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services import guard
from orchestration.services.images import (
    ImageInvalid,
    ami_problems,
    image_copy,
    image_create_from_desktop,
    image_delete,
    image_import,
    image_permission_update,
)
from orchestration.services.images import requests as service
from orchestration.services.images.rows import image_fields
from tenants.models import Image
from tests.factories import AwsAccountFactory, BundleFactory, DesktopFactory, ImageFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
OURS = {"PartnerManaged": "true"}
GOOD_AMI = Ami(
    image_id="ami-0123456789abcdef0",
    name="win10-golden",
    description="Windows 10 Enterprise",
    platform_details="Windows BYOL",
    ena_support=True,
    hypervisor="xen",
    volume_type="gp3",
    volume_size=50,
    encrypted=False,
    owner_id="200000000000",
    state="available",
    image_type="machine",
    virtualization_type="hvm",
)


@pytest.fixture
def no_aws():
    """Any AWS call fails the test: everything here must be decided locally."""
    with (
        mock.patch(
            "orchestration.aws.images.aws_call", side_effect=AssertionError("AWS was called")
        ) as images,
        mock.patch(
            "orchestration.aws.workspaces.aws_call", side_effect=AssertionError("AWS was called")
        ) as ws,
    ):
        yield images, ws
    assert not images.called and not ws.called


@pytest.fixture
def account():
    return AwsAccountFactory(
        byop_enabled=True, dedicated_tenancy_support="ENABLED", regions=["us-east-1", "eu-west-1"]
    )


def _nothing_made() -> tuple[int, int]:
    return Job.objects.count(), JobItem.objects.count()


def _import_refused(account, **overrides) -> dict[str, list[str]]:
    fields = {"ami_id": GOOD_AMI.image_id, "name": "win10-golden", "region": "us-east-1"} | overrides
    before = _nothing_made()
    with pytest.raises(ImageInvalid) as excinfo:
        image_import(actor=ACTOR, aws_account=account, **fields)
    assert _nothing_made() == before
    return excinfo.value.errors


@pytest.mark.parametrize(
    ("ami_id", "name", "field", "says"),
    [
        ("ami-12345", "ok", "ami_id", "is not an AMI id"),
        ("ami-0123456789ABCDEF0", "ok", "ami_id", "is not an AMI id"),
        ("i-0123456789abcdef0", "ok", "ami_id", "is not an AMI id"),
        (GOOD_AMI.image_id, "win 10 golden", "name", "Not allowed in an image name: ' '"),
        (GOOD_AMI.image_id, "win10;rm -rf", "name", "Not allowed in an image name: ' ;'"),
        (GOOD_AMI.image_id, "x" * 65, "name", "at most 64 characters"),
        (GOOD_AMI.image_id, "", "name", "Give the image a name."),
        (GOOD_AMI.image_id, "trailing-newline\n", "name", "Not allowed in an image name"),
    ],
)
def test_bad_ami_ids_and_image_names_are_refused_without_any_aws_call(
    no_aws, account, ami_id, name, field, says
):
    errors = _import_refused(account, ami_id=ami_id, name=name)
    assert says in " ".join(errors[field])


def test_the_workspaces_name_alphabet_is_accepted(account):
    errors = service._Errors()
    service._check_name(errors, r"Win10_ent.22H2/(golden)\build-7")
    assert errors == {}


def test_unknown_and_non_byop_ingestion_processes_are_refused(no_aws, account):
    assert (
        "Unknown ingestion process"
        in _import_refused(account, ingestion_process="BYOL_TURBO")["ingestion_process"][0]
    )
    message = _import_refused(account, ingestion_process="BYOL_REGULAR_WSP")["ingestion_process"][0]
    assert "not a Bring Your Own Protocol process" in message and "BYOL_REGULAR_BYOP" in message


def test_an_account_without_byop_or_outside_its_regions_is_refused(no_aws):
    account = AwsAccountFactory(byop_enabled=False, regions=["us-east-1"])
    errors = _import_refused(account, region="ap-south-1")
    assert "not enabled for Bring Your Own Protocol" in errors["aws_account"][0]
    assert "ap-south-1 is not one of the account's regions" in errors["region"][0]


def test_a_name_already_used_in_the_region_is_refused(no_aws, account):
    ImageFactory(aws_account=account, region="us-east-1", name="win10-golden")
    assert "already exists in us-east-1" in _import_refused(account)["name"][0]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"encrypted": True}, "encrypted"),
        ({"volume_size": 200}, "at most 70 GiB"),
        ({"volume_size": 71}, "at most 70 GiB"),
        ({"volume_size": 8}, "must be 10 GiB or more"),
        ({"state": "pending"}, "The AMI is pending"),
        ({"image_type": "kernel"}, "only machine images"),
        ({"virtualization_type": "paravirtual"}, "needs hvm"),
        ({"platform_details": "Linux/UNIX"}, "only Windows client images"),
        ({"volume_size": None}, "no EBS root volume"),
    ],
)
def test_ami_problems(change, says):
    assert says in " ".join(ami_problems(replace(GOOD_AMI, **change)))


@pytest.mark.parametrize("size", [10, 20, 50, 70])
def test_sizes_only_aws_can_judge_pass_locally(size):
    # Whether a 10-70 GiB disk has the 10 GB free WorkSpaces needs is for AWS's validation to say.
    assert ami_problems(replace(GOOD_AMI, volume_size=size)) == ()


def test_an_unimportable_ami_is_refused_after_one_read_and_the_refusal_is_audited(account):
    with mock.patch.object(service, "ami_get", return_value=replace(GOOD_AMI, encrypted=True)) as read:
        errors = _import_refused(account)
    read.assert_called_once()
    assert "encrypted" in errors["ami_id"][0]
    event = AuditEvent.objects.get(action="ImportWorkspaceImage")
    assert (event.outcome, event.target_type, event.target_id) == ("REFUSED", "ami", GOOD_AMI.image_id)


def test_an_ami_the_account_does_not_own_is_named(account):
    with mock.patch.object(service, "ami_get", return_value=None):
        errors = _import_refused(account)
    assert f"owns no AMI {GOOD_AMI.image_id} in us-east-1" in errors["ami_id"][0]


def test_an_account_without_byol_is_refused_after_asking_aws(account):
    account.dedicated_tenancy_support = ""
    account.save()
    with (
        mock.patch.object(service, "ami_get", return_value=GOOD_AMI),
        mock.patch.object(service, "account_dedicated_tenancy", return_value="DISABLED") as asked,
    ):
        errors = _import_refused(account)
    asked.assert_called_once()
    assert "BYOL is not configured" in errors["aws_account"][0]


def test_a_valid_import_makes_one_job_and_item_and_records_byol(account):
    account.dedicated_tenancy_support = ""
    account.save()
    with (
        mock.patch.object(service, "ami_get", return_value=GOOD_AMI),
        mock.patch.object(service, "account_dedicated_tenancy", return_value="ENABLED"),
    ):
        job = image_import(
            actor=ACTOR, aws_account=account, region="", ami_id=GOOD_AMI.image_id, name="win10"
        )
    assert (job.kind, job.queue, job.total_items) == ("IMAGE_IMPORT", "interactive", 1)
    item = job.items.get()
    assert item.params == {
        "region": "us-east-1",
        "name": "win10",
        "description": f"Imported from {GOOD_AMI.image_id}",
        "ami_id": GOOD_AMI.image_id,
        "ingestion_process": "BYOL_REGULAR_BYOP",
    }
    account.refresh_from_db()
    assert account.dedicated_tenancy_support == "ENABLED"


def test_create_from_a_desktop_that_is_not_available_or_not_in_aws_is_refused_and_audited(no_aws):
    stopped = DesktopFactory(state="STOPPED", tags=OURS)
    with pytest.raises(ImageInvalid) as excinfo:
        image_create_from_desktop(actor=ACTOR, desktop=stopped, name="golden", description="")
    assert (
        "is STOPPED; an image can only be made from an AVAILABLE desktop"
        in excinfo.value.errors["desktop"][0]
    )
    requested = DesktopFactory(workspace_id=None, state="REQUESTED")
    with pytest.raises(ImageInvalid) as excinfo:
        image_create_from_desktop(actor=ACTOR, desktop=requested, name="golden", description="")
    assert "not in AWS yet" in excinfo.value.errors["desktop"][0]
    assert AuditEvent.objects.filter(action="CreateWorkspaceImage", outcome="REFUSED").count() == 2
    assert Job.objects.count() == 0


def test_create_from_a_desktop_that_is_not_ours_is_refused_by_the_tag_guard(no_aws):
    theirs = DesktopFactory(tags={"Owner": "customer-it"})
    with pytest.raises(ImageInvalid) as excinfo:
        image_create_from_desktop(actor=ACTOR, desktop=theirs, name="golden", description="nightly")
    assert "is not tagged PartnerManaged=true" in excinfo.value.errors["desktop"][0]
    assert Job.objects.count() == 0


def test_create_from_our_available_desktop_makes_a_job_on_the_desktop(no_aws):
    desktop = DesktopFactory(tags=OURS)
    job = image_create_from_desktop(
        actor=ACTOR, desktop=desktop, name="golden-1", description="nightly build"
    )
    item = job.items.get()
    assert (job.kind, item.desktop, item.params["workspace_id"]) == (
        "IMAGE_CREATE",
        desktop,
        desktop.workspace_id,
    )


def test_copy_validation_names_every_bad_region(no_aws, account):
    image = ImageFactory(aws_account=account, region="us-east-1", tags=OURS)
    with pytest.raises(ImageInvalid) as excinfo:
        image_copy(
            actor=ACTOR, image=image, regions=["us-east-1", "ap-south-1", "EU-WEST", "eu-west-1", "eu-west-1"]
        )
    problems = " ".join(excinfo.value.errors["regions"])
    assert "Listed more than once: eu-west-1" in problems
    assert "already in us-east-1" in problems
    assert "ap-south-1 is not one of account" in problems
    assert "'EU-WEST' is not a region name" in problems
    with pytest.raises(ImageInvalid) as excinfo:
        image_copy(actor=ACTOR, image=image, regions=[])
    assert excinfo.value.errors["regions"] == ["Choose at least one region to copy to."]
    assert Job.objects.count() == 0


def test_copy_of_a_pending_image_or_onto_a_taken_name_is_refused(no_aws, account):
    pending = ImageFactory(aws_account=account, state="PENDING")
    ImageFactory(aws_account=account, region="eu-west-1", name=pending.name)
    with pytest.raises(ImageInvalid) as excinfo:
        image_copy(actor=ACTOR, image=pending, regions=["eu-west-1"])
    assert "only an AVAILABLE image can be copied" in excinfo.value.errors["image"][0]
    assert "already exists in eu-west-1" in excinfo.value.errors["name"][0]


def test_copy_makes_one_item_per_region_with_our_region_as_source(no_aws):
    account = AwsAccountFactory(regions=["us-east-1", "eu-west-1", "us-west-2"])
    image = ImageFactory(aws_account=account)
    job = image_copy(actor=ACTOR, image=image, regions=["eu-west-1", "us-west-2"], description="DR copy")
    assert job.queue == "bulk"
    assert [(i.params["region"], i.params["source_region"], i.params["name"]) for i in job.items.all()] == [
        ("eu-west-1", "us-east-1", image.name),
        ("us-west-2", "us-east-1", image.name),
    ]


def test_delete_is_refused_while_bundles_use_the_image_and_names_them(no_aws):
    bundle = BundleFactory(name="standard-win10")
    image = bundle.image
    image.tags = OURS
    image.save()
    with pytest.raises(ImageInvalid) as excinfo:
        image_delete(actor=ACTOR, image=image)
    assert f"used by bundle(s) standard-win10 ({bundle.bundle_id})" in excinfo.value.errors["image"][0]
    event = AuditEvent.objects.get(action="DeleteWorkspaceImage")
    assert (event.outcome, event.target_id) == ("REFUSED", image.image_id)
    assert Image.objects.filter(pk=image.pk).exists()


def test_delete_of_a_pending_image_or_an_image_not_ours_is_refused(no_aws):
    with pytest.raises(ImageInvalid) as excinfo:
        image_delete(actor=ACTOR, image=ImageFactory(state="PENDING", tags=OURS))
    assert "still PENDING" in excinfo.value.errors["image"][0]
    with pytest.raises(ImageInvalid) as excinfo:
        image_delete(actor=ACTOR, image=ImageFactory(tags={"Owner": "customer-it"}))
    assert "not tagged PartnerManaged=true" in excinfo.value.errors["image"][0]


@pytest.mark.parametrize(
    ("account_id", "says"),
    [("12345", "exactly 12 digits"), ("12345678901a", "exactly 12 digits"), (None, "exactly 12 digits")],
)
def test_sharing_needs_a_12_digit_account(no_aws, account_id, says):
    with pytest.raises(ImageInvalid) as excinfo:
        image_permission_update(actor=ACTOR, image=ImageFactory(tags=OURS), account_id=account_id, allow=True)
    assert says in excinfo.value.errors["account_id"][0]


def test_sharing_with_the_owner_or_sharing_a_pending_image_is_refused(no_aws):
    image = ImageFactory(state="PENDING", tags=OURS)
    with pytest.raises(ImageInvalid) as excinfo:
        image_permission_update(actor=ACTOR, image=image, account_id=image.aws_account.account_id, allow=True)
    assert "the account that owns it" in excinfo.value.errors["account_id"][0]
    assert "only an AVAILABLE image can be shared" in excinfo.value.errors["image"][0]


def test_an_image_with_no_recorded_tags_is_checked_in_aws_and_the_tags_kept():
    image = ImageFactory(tags={})
    with mock.patch.object(guard, "resource_tags", return_value={"Owner": "customer-it"}) as read:
        with pytest.raises(ImageInvalid):
            image_permission_update(actor=ACTOR, image=image, account_id="222222222222", allow=True)
        image.refresh_from_db()
        with pytest.raises(ImageInvalid):
            image_delete(actor=ACTOR, image=image)
    read.assert_called_once()
    assert image.tags == {"Owner": "customer-it"}


def test_aws_error_text_keeps_the_code_message_and_details():
    failed = WorkspaceImage(
        image_id="wsi-123456789",
        name="x",
        state="ERROR",
        error_code="ImageImportValidationFailed",
        error_message="The image failed import validation.",
        error_details=(ImageErrorDetail("InsufficientDiskSpace", "The root volume is 20 GiB."),),
    )
    fields = image_fields(failed, now=None)
    assert fields["error_code"] == "ImageImportValidationFailed"
    assert fields["error_message"] == (
        "The image failed import validation. (details: InsufficientDiskSpace: The root volume is 20 GiB.)"
    )
    only_details = replace(failed, error_code="", error_message="")
    assert image_fields(only_details, now=None)["error_code"] == "InsufficientDiskSpace"
    assert image_fields(replace(failed, required_tenancy="DEFAULT"), now=None)["required_tenancy"] == "SHARED"


def test_the_command_prints_what_to_fix_and_makes_nothing(no_aws, account):
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "images", "--account", account.account_id, "import", "--ami", "ami-bad", "--name", "bad name!"
        )
    text = str(excinfo.value)
    assert text.startswith("Nothing was changed:")
    assert "ami_id: 'ami-bad' is not an AMI id" in text and "name: Not allowed in an image name" in text
    with pytest.raises(CommandError, match="No AWS account 999999999999"):
        call_command("images", "--account", "999999999999", "sync")
    with pytest.raises(CommandError, match="No image wsi-000000000 is known"):
        call_command("images", "--account", account.account_id, "delete", "--image", "wsi-000000000")
    assert Job.objects.count() == 0


def test_the_command_lists_amis_with_the_seed_columns_and_reasons(account, capsys):
    amis = [
        GOOD_AMI,
        replace(GOOD_AMI, image_id="ami-0000000000000000e", problems=("The AMI's volume is encrypted.",)),
    ]
    with mock.patch("orchestration.management.commands.images.ami_list", return_value=amis):
        call_command("images", "--account", account.account_id, "amis")
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == [
        "ImageId",
        "Name",
        "Description",
        "PlatformDetails",
        "EnaSupport",
        "Hypervisor",
        "VolumeType",
        "VolumeSize",
        "Encrypted",
        "OwnerId",
        "Importable",
    ]
    assert "ami-0000000000000000e: The AMI's volume is encrypted." in out


# ----------------------------------------------------------------------------------------- admin


def test_image_changelist_links_the_import_and_create_pages(staff_client):
    ImageFactory()
    page = staff_client.get(reverse("admin:tenants_image_changelist")).content.decode()
    assert reverse("admin:tenants_image_import") in page
    assert reverse("admin:tenants_image_create_from_desktop") in page
    assert 'value="delete_selected"' not in page


def test_import_page_lists_amis_with_reasons_and_radio_only_for_importable_ones(staff_client, account):
    bad = replace(GOOD_AMI, image_id="ami-0000000000000000e", encrypted=True)
    amis = [replace(a, problems=ami_problems(a)) for a in (GOOD_AMI, bad)]
    with mock.patch("orchestration.services.images.ami_list", return_value=amis):
        page = staff_client.get(
            reverse("admin:tenants_image_import"), {"aws_account": account.pk}
        ).content.decode()
    assert f'name="ami_id" value="{GOOD_AMI.image_id}"' in page
    assert f'name="ami_id" value="{bad.image_id}"' not in page
    assert "WorkSpaces does not import encrypted AMIs" in page
    for column in (
        "PlatformDetails",
        "EnaSupport",
        "Hypervisor",
        "VolumeType",
        "VolumeSize",
        "Encrypted",
        "OwnerId",
    ):
        assert f"<th>{column}</th>" in page


def test_import_page_shows_the_service_refusal_on_the_form(staff_client, account, no_aws):
    with mock.patch("orchestration.services.images.ami_list", return_value=[]):
        response = staff_client.post(
            reverse("admin:tenants_image_import") + f"?aws_account={account.pk}",
            {"ami_id": "ami-nothex", "name": "a name", "ingestion_process": "BYOL_REGULAR_BYOP"},
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not an AMI id" in page and "Not allowed in an image name" in page
    assert Job.objects.count() == 0


def test_create_from_desktop_page_makes_a_job_and_refuses_an_unknown_or_stopped_desktop(staff_client, no_aws):
    url = reverse("admin:tenants_image_create_from_desktop")
    assert staff_client.get(url).status_code == 200
    page = staff_client.post(url, {"workspace_id": "ws-nothere01", "name": "golden"}).content.decode()
    assert "No desktop ws-nothere01 is known." in page
    stopped = DesktopFactory(state="STOPPED", tags=OURS)
    page = staff_client.post(url, {"workspace_id": stopped.workspace_id, "name": "golden"}).content.decode()
    assert "an image can only be made from an AVAILABLE desktop" in page
    assert Job.objects.count() == 0
    desktop = DesktopFactory(tags=OURS)
    response = staff_client.post(
        url, {"workspace_id": desktop.workspace_id, "name": "golden", "description": "v1"}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:orchestration_job_change", args=[job.pk]
    )


def test_copy_action_shows_an_intermediate_form_then_makes_the_job(staff_client, no_aws):
    account = AwsAccountFactory(regions=["us-east-1", "eu-west-1"])
    image = ImageFactory(aws_account=account, tags=OURS)
    url = reverse("admin:tenants_image_changelist")
    page = staff_client.post(
        url, {"action": "copy_to_regions", "_selected_action": [image.pk]}
    ).content.decode()
    assert 'name="regions" value="eu-west-1"' in page and 'name="apply"' in page
    response = staff_client.post(
        url,
        {"action": "copy_to_regions", "_selected_action": [image.pk], "apply": "1", "regions": ["eu-west-1"]},
    )
    assert response.status_code == 302
    assert Job.objects.get().items.get().params["region"] == "eu-west-1"


def test_delete_action_reports_the_bundle_that_blocks_it(staff_client, no_aws):
    bundle = BundleFactory(name="standard-win10")
    Image.objects.filter(pk=bundle.image_id).update(tags=OURS)
    url = reverse("admin:tenants_image_changelist")
    confirm = staff_client.post(url, {"action": "delete_images", "_selected_action": [bundle.image_id]})
    assert "used by standard-win10" in confirm.content.decode()
    response = staff_client.post(
        url, {"action": "delete_images", "_selected_action": [bundle.image_id], "apply": "1"}, follow=True
    )
    assert f"used by bundle(s) standard-win10 ({bundle.bundle_id})" in response.content.decode()
    assert Image.objects.filter(pk=bundle.image_id).exists()


def test_import_page_refuses_a_region_the_account_does_not_use(staff_client, account, no_aws):
    page = staff_client.get(
        reverse("admin:tenants_image_import"), {"aws_account": account.pk, "region": "ap-south-1"}
    ).content.decode()
    assert "Not one of the account&#x27;s regions (us-east-1, eu-west-1)." in page


def test_image_and_permission_reads_follow_every_page():
    from orchestration.aws import images as boundary
    from orchestration.aws.types import AccountAccess

    access = AccountAccess(account_id="200000000000", region="us-east-1", auth_mode="ASSUME_ROLE")
    pages = [
        {"Images": [{"ImageId": "wsi-000000001", "Name": "a", "State": "AVAILABLE"}], "NextToken": "t1"},
        {"Images": [{"ImageId": "wsi-000000002", "Name": "b", "State": "PENDING"}]},
    ]
    with mock.patch.object(boundary, "aws_call", side_effect=pages) as call:
        assert boundary.workspace_image_find(access, name="b").image_id == "wsi-000000002"
    assert [c.kwargs.get("NextToken") for c in call.call_args_list] == [None, "t1"]
    assert all(c.kwargs["ImageType"] == "OWNED" and c.kwargs["MaxResults"] == 25 for c in call.call_args_list)
    shares = [
        {"ImagePermissions": [{"SharedAccountId": "111111111111"}], "NextToken": "p1"},
        {"ImagePermissions": [{"SharedAccountId": "222222222222"}]},
    ]
    with mock.patch.object(boundary, "aws_call", side_effect=shares):
        assert boundary.workspace_image_permissions(access, "wsi-000000001") == [
            "111111111111",
            "222222222222",
        ]


def test_share_action_shows_current_shares_then_reports_each_refusal(staff_client, no_aws):
    image = ImageFactory(tags=OURS)
    url = reverse("admin:tenants_image_changelist")
    with mock.patch("orchestration.services.images.image_permission_list", return_value=["222222222222"]):
        page = staff_client.post(url, {"action": "share_with_account", "_selected_action": [image.pk]})
    assert "shared with 222222222222" in page.content.decode()
    response = staff_client.post(
        url,
        {
            "action": "share_with_account",
            "_selected_action": [image.pk],
            "apply": "1",
            "account_id": "12",
            "allow": "1",
        },
        follow=True,
    )
    assert f"Image {image.image_id}: &#x27;12&#x27; is not an AWS account id" in response.content.decode()
    assert AuditEvent.objects.get().outcome == "REFUSED"


def test_refresh_action_syncs_each_account_and_region_once(staff_client):
    account = AwsAccountFactory(regions=["us-east-1", "eu-west-1"])
    images = [
        ImageFactory(aws_account=account),
        ImageFactory(aws_account=account),
        ImageFactory(aws_account=account, region="eu-west-1"),
    ]
    report = {
        "aws_account_id": account.account_id,
        "images_in_aws": 2,
        "state_changes": [],
        "adopted": ["wsi-000000777"],
        "not_ours": [],
        "missing": [],
    }
    with mock.patch(
        "orchestration.services.images.image_sync",
        side_effect=lambda aws_account, region: {**report, "region": region},
    ) as sync:
        response = staff_client.post(
            reverse("admin:tenants_image_changelist"),
            {"action": "refresh_from_aws", "_selected_action": [i.pk for i in images]},
            follow=True,
        )
    assert sorted(c.kwargs["region"] for c in sync.call_args_list) == ["eu-west-1", "us-east-1"]
    assert (
        f"{account.account_id} us-east-1: 2 image(s) in AWS; adopted wsi-000000777."
        in response.content.decode()
    )
