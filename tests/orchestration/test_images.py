"""Images: bad input refused before any AWS call (F11), the tag guard (S5), AMI rules, AWS's error text,
the command and the admin pages. Whatever AWS answers comes from the simulator over boto3, and "no AWS
call" is what the simulator's recorder saw."""

from dataclasses import replace

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.images import (
    DESCRIBE_IMAGES_PAGE,
    DESCRIBE_PERMISSIONS_PAGE,
    Ami,
    ImageErrorDetail,
    WorkspaceImage,
    workspace_image_find,
    workspace_image_import,
    workspace_image_permission_update,
    workspace_image_permissions,
)
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
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
from partnerportal.devstack import demo_account_connect
from tenants.models import AwsAccount, Image
from tests.factories import AwsAccountFactory, BundleFactory, CustomerFactory, DesktopFactory, ImageFactory
from tests.integration.world import admin_client

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
def no_aws(simulator):
    """Everything here must be decided locally: the simulator records every call (STS too), and sees none."""
    simulator.clear_calls()
    yield
    assert simulator.calls() == []


@pytest.fixture
def account():
    return AwsAccountFactory(
        byop_enabled=True, dedicated_tenancy_support="ENABLED", regions=["us-east-1", "eu-west-1"]
    )


def _connect(simulator, demo: dict, *, dedicated_tenancy_support: str) -> AwsAccount:
    """Our row for a demo customer in the simulator, shaped like `account` above (BYOP, two regions)."""
    account = demo_account_connect(
        simulator=simulator, customer=CustomerFactory(name=demo["name"], slug=demo["name"]), demo=demo
    )
    AwsAccount.objects.filter(pk=account.pk).update(
        regions=["us-east-1", "eu-west-1"], dedicated_tenancy_support=dedicated_tenancy_support
    )
    account.refresh_from_db()
    simulator.clear_calls()
    return account


@pytest.fixture
def acme(simulator, demo_world_ready):
    """Acme onboarded in the simulator (BYOL done, an AVAILABLE image) and connected to us, BYOL recorded."""
    return _connect(simulator, demo_world_ready["accounts"][0], dedicated_tenancy_support="ENABLED")


@pytest.fixture
def acme_without_byol(simulator, demo_world):
    """Acme in the simulator before its BYOL setup, connected to us with no record of BYOL."""
    return _connect(simulator, demo_world["accounts"][0], dedicated_tenancy_support="")


def _ami_of(world: dict, kind: str, index: int = 0) -> str:
    """The id of the demo account's first seeded AMI of `kind` (importable, encrypted, too_small, ...)."""
    return next(ami["image_id"] for ami in world["accounts"][index]["amis"] if ami["kind"] == kind)


def _aws_calls(simulator) -> dict[str, int]:
    """What the simulator was asked since the last clear, role assumptions aside."""
    return {op: n for op, n in simulator.call_counts().items() if not op.startswith("sts:")}


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


@pytest.mark.slow
def test_an_unimportable_ami_is_refused_after_one_read_and_the_refusal_is_audited(
    simulator, acme, demo_world_ready
):
    encrypted = _ami_of(demo_world_ready, "encrypted")
    errors = _import_refused(acme, ami_id=encrypted)
    assert _aws_calls(simulator) == {"ec2:DescribeImages": 1}
    assert "encrypted" in errors["ami_id"][0]
    event = AuditEvent.objects.get(action="ImportWorkspaceImage")
    assert (event.outcome, event.target_type, event.target_id) == ("REFUSED", "ami", encrypted)


@pytest.mark.slow
def test_an_ami_the_account_does_not_own_is_named(simulator, acme, demo_world_ready):
    theirs = _ami_of(demo_world_ready, "importable", index=1)  # globex's, in the same region
    errors = _import_refused(acme, ami_id=theirs)
    assert f"owns no AMI {theirs} in us-east-1" in errors["ami_id"][0]
    assert _aws_calls(simulator) == {"ec2:DescribeImages": 1}


@pytest.mark.slow
def test_an_account_without_byol_is_refused_after_asking_aws(simulator, acme_without_byol, demo_world):
    errors = _import_refused(acme_without_byol, ami_id=_ami_of(demo_world, "importable"))
    assert _aws_calls(simulator) == {"ec2:DescribeImages": 1, "DescribeAccount": 1}
    assert "BYOL is not configured" in errors["aws_account"][0]
    assert "DedicatedTenancySupport is DISABLED" in errors["aws_account"][0]


@pytest.mark.slow
def test_a_valid_import_makes_one_job_and_item_and_records_byol(simulator, acme, demo_world_ready):
    acme.dedicated_tenancy_support = ""
    acme.save()
    ami_id = _ami_of(demo_world_ready, "importable")
    job = image_import(actor=ACTOR, aws_account=acme, region="", ami_id=ami_id, name="win10")
    assert (job.kind, job.queue, job.total_items) == ("IMAGE_IMPORT", "interactive", 1)
    item = job.items.get()
    assert item.params == {
        "region": "us-east-1",
        "name": "win10",
        "description": f"Imported from {ami_id}",
        "ami_id": ami_id,
        "ingestion_process": "BYOL_REGULAR_BYOP",
    }
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_support == "ENABLED"
    # Two reads; the import itself is the job's to send.
    assert _aws_calls(simulator) == {"ec2:DescribeImages": 1, "DescribeAccount": 1}


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


def test_an_image_is_shared_only_with_the_partners_account(no_aws):
    image = ImageFactory(tags=OURS)
    with pytest.raises(ImageInvalid) as excinfo:
        image_permission_update(actor=ACTOR, image=image, account_id="222222222222", allow=True)
    partner = settings.PARTNER_AWS_ACCOUNT_ID
    assert (
        f"only with the partner's account {partner}, not 222222222222"
        in excinfo.value.errors["account_id"][0]
    )


def test_sharing_with_the_owner_or_sharing_a_pending_image_is_refused(no_aws):
    image = ImageFactory(state="PENDING", tags=OURS)
    with pytest.raises(ImageInvalid) as excinfo:
        image_permission_update(actor=ACTOR, image=image, account_id=image.aws_account.account_id, allow=True)
    assert "the account that owns it" in excinfo.value.errors["account_id"][0]
    assert "only an AVAILABLE image can be shared" in excinfo.value.errors["image"][0]


@pytest.mark.slow
def test_an_image_with_no_recorded_tags_is_checked_in_aws_and_the_tags_kept(
    simulator, acme, demo_world_ready
):
    # The customer's IT imported this image themselves, with their own tag and not ours.
    made = admin_client(simulator, demo_world_ready["accounts"][0]).import_workspace_image(
        Ec2ImageId=_ami_of(demo_world_ready, "importable"),
        IngestionProcess="BYOL_REGULAR_BYOP",
        ImageName="customer-own",
        ImageDescription="Made by the customer",
        Tags=[{"Key": "Owner", "Value": "customer-it"}],
    )
    simulator.advance(simulator.durations()["image_import"])
    image = ImageFactory(aws_account=acme, image_id=made["ImageId"], name="customer-own", tags={})
    simulator.clear_calls()
    with pytest.raises(ImageInvalid):
        image_permission_update(
            actor=ACTOR, image=image, account_id=settings.PARTNER_AWS_ACCOUNT_ID, allow=True
        )
    image.refresh_from_db()
    with pytest.raises(ImageInvalid):
        image_delete(actor=ACTOR, image=image)
    assert _aws_calls(simulator) == {"DescribeTags": 1}
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


@pytest.mark.slow
def test_the_command_lists_amis_with_the_seed_columns_and_reasons(acme, demo_world_ready, capsys):
    call_command("images", "--account", acme.account_id, "amis")
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
    encrypted = _ami_of(demo_world_ready, "encrypted")
    assert f"{encrypted}: The AMI's volume is encrypted; WorkSpaces does not import encrypted AMIs." in out


# ----------------------------------------------------------------------------------------- admin


def test_image_changelist_links_the_import_and_create_pages(staff_client):
    ImageFactory()
    page = staff_client.get(reverse("admin:tenants_image_changelist")).content.decode()
    assert reverse("admin:tenants_image_import") in page
    assert reverse("admin:tenants_image_create_from_desktop") in page
    assert 'value="delete_selected"' not in page


def test_import_page_lists_amis_with_reasons_and_radio_only_for_importable_ones(
    staff_client, acme, demo_world_ready
):
    page = staff_client.get(reverse("admin:tenants_image_import"), {"aws_account": acme.pk}).content.decode()
    good, bad = _ami_of(demo_world_ready, "importable"), _ami_of(demo_world_ready, "encrypted")
    assert f'name="ami_id" value="{good}"' in page
    assert f'name="ami_id" value="{bad}"' not in page and bad in page
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


def test_import_page_shows_the_service_refusal_on_the_form(staff_client, account, simulator):
    simulator.clear_calls()
    response = staff_client.post(
        reverse("admin:tenants_image_import") + f"?aws_account={account.pk}",
        {"ami_id": "ami-nothex", "name": "a name", "ingestion_process": "BYOL_REGULAR_BYOP"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not an AMI id" in page and "Not allowed in an image name" in page
    assert Job.objects.count() == 0
    # The refusal asked AWS nothing; the one read is the AMI table shown again under the form.
    assert _aws_calls(simulator) == {"ec2:DescribeImages": 1}


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


@pytest.mark.slow
def test_image_and_permission_reads_follow_every_page(simulator, acme, demo_world_ready):
    access = account_access(acme)
    # With the onboarded image, one image more than a page: the last one made is alone on page two.
    made = [
        workspace_image_import(
            access,
            ami_id=_ami_of(demo_world_ready, "importable"),
            ingestion_process="BYOL_REGULAR_BYOP",
            name=f"paged-{n:02d}",
            description="paging",
        ).image_id
        for n in range(DESCRIBE_IMAGES_PAGE)
    ]
    simulator.clear_calls()
    assert workspace_image_find(access, name=f"paged-{DESCRIBE_IMAGES_PAGE - 1:02d}").image_id == made[-1]
    pages = simulator.requests("DescribeWorkspaceImages")
    # The simulator takes a NextToken only for the account, region, operation and filter it was given
    # for, and this was the first listing: page two sent page one's token.
    assert len(pages) == 2 and "NextToken" not in pages[0] and pages[1]["NextToken"]
    assert all(page["ImageType"] == "OWNED" and page["MaxResults"] == 25 for page in pages)

    image_id = demo_world_ready["accounts"][0]["image_id"]
    shared = [f"{300000000000 + n:012d}" for n in range(DESCRIBE_PERMISSIONS_PAGE + 1)]
    for account_id in shared:
        workspace_image_permission_update(access, image_id=image_id, account_id=account_id, allow=True)
    simulator.clear_calls()
    assert workspace_image_permissions(access, image_id) == shared
    pages = simulator.requests("DescribeWorkspaceImagePermissions")
    assert len(pages) == 2 and "NextToken" not in pages[0] and pages[1]["NextToken"]


@pytest.mark.slow
def test_share_action_shows_current_shares_then_reports_each_refusal(
    staff_client, simulator, acme, demo_world_ready
):
    image = ImageFactory(aws_account=acme, image_id=demo_world_ready["accounts"][0]["image_id"], tags=OURS)
    workspace_image_permission_update(
        account_access(acme), image_id=image.image_id, account_id="222222222222", allow=True
    )
    url = reverse("admin:tenants_image_changelist")
    page = staff_client.post(url, {"action": "share_with_account", "_selected_action": [image.pk]})
    assert "shared with 222222222222" in page.content.decode()
    simulator.clear_calls()
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
    assert simulator.calls() == []  # refused before any AWS call


@pytest.mark.slow
def test_refresh_action_syncs_each_account_and_region_once(staff_client, simulator, acme, demo_world_ready):
    ami_id = _ami_of(demo_world_ready, "importable")
    imported, unknown = (
        workspace_image_import(
            account_access(acme),
            ami_id=ami_id,
            ingestion_process="BYOL_REGULAR_BYOP",
            name=name,
            description="refresh",
        ).image_id
        for name in ("imported", "made-behind-our-back")
    )
    images = [
        ImageFactory(aws_account=acme, image_id=demo_world_ready["accounts"][0]["image_id"]),
        ImageFactory(aws_account=acme, image_id=imported, state="PENDING"),
        ImageFactory(aws_account=acme, region="eu-west-1"),  # gone from AWS
    ]
    simulator.clear_calls()
    response = staff_client.post(
        reverse("admin:tenants_image_changelist"),
        {"action": "refresh_from_aws", "_selected_action": [i.pk for i in images]},
        follow=True,
    )
    listed = simulator.calls("DescribeWorkspaceImages")
    assert sorted(call["region"] for call in listed) == ["eu-west-1", "us-east-1"]
    page = response.content.decode()
    assert f"{acme.account_id} us-east-1: 3 image(s) in AWS; adopted {unknown}." in page
    assert f"{acme.account_id} eu-west-1: 0 image(s) in AWS; no longer in AWS: {images[2].image_id}." in page
