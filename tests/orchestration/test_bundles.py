"""Bundle services: bad input refused before any AWS call (F11, R7), changes behind the tag guard (S5)."""

import pytest

from orchestration.actors import Actor
from orchestration.aws.errors import TagGuardRefused
from orchestration.models import AuditEvent
from orchestration.services.bundles import (
    BundleCreateRequest,
    BundleInvalid,
    bundle_create,
    bundle_delete,
    bundle_update_image,
    storage_combination_ok,
)
from tenants.choices import DesktopState
from tenants.models import Bundle, GoldenImagePipeline
from tests.factories import AwsAccountFactory, BundleFactory, DesktopFactory, ImageFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def no_aws_calls(simulator):
    simulator.clear_calls()
    yield
    assert simulator.calls() == []


@pytest.fixture
def account():
    return AwsAccountFactory()


@pytest.fixture
def image(account):
    return ImageFactory(aws_account=account, ingestion_process="BYOL_REGULAR_BYOP")


def _request(account, image, **overrides) -> BundleCreateRequest:
    fields = {
        "aws_account": account,
        "region": "us-east-1",
        "name": "win11-standard",
        "description": "Windows 11 standard (BYOP)",
        "image": image,
        "compute_type": "STANDARD",
        "root_volume_gib": 80,
        "user_volume_gib": 50,
    }
    return BundleCreateRequest(**{**fields, **overrides})


def _create_refused(request: BundleCreateRequest) -> dict[str, list[str]]:
    before = Bundle.objects.count()
    with pytest.raises(BundleInvalid) as excinfo:
        bundle_create(actor=ACTOR, request=request)
    assert Bundle.objects.count() == before
    assert not AuditEvent.objects.exists()
    return excinfo.value.errors


@pytest.mark.parametrize(
    ("root", "user", "ok"),
    [(80, 10, True), (80, 50, True), (80, 100, True), (80, 20, False), (175, 100, True), (2000, 2000, True)]
    + [(175, 99, False), (174, 100, False), (2001, 100, False), (100, 100, False)],
)
def test_storage_combinations_are_the_ones_workspaces_accepts(root, user, ok):
    assert storage_combination_ok(root, user) is ok


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "win 11"}, "name", "no spaces"),
        ({"name": "x" * 65}, "name", "1 to 64 characters"),
        ({"description": "Windows; 11"}, "description", "1 to 255 characters"),
        ({"description": ""}, "description", "1 to 255 characters"),
        ({"compute_type": "HUGE"}, "compute_type", "Unknown compute type 'HUGE'"),
        ({"compute_type": "GRAPHICS_G4DN"}, "image", "does not match it"),
        ({"root_volume_gib": 80, "user_volume_gib": 20}, "root_volume_gib", "is not supported"),
        ({"region": "eu-west-1"}, "region", "not one of this account's regions"),
    ],
)
def test_bad_input_is_refused_with_the_field_to_fix(account, image, overrides, field, message, no_aws_calls):
    errors = _create_refused(_request(account, image, **overrides))
    assert any(message in problem for problem in errors[field]), errors


def test_the_image_must_be_ours_available_and_in_the_region(account, image, no_aws_calls):
    errors = _create_refused(_request(account, ImageFactory()))
    assert "is not in AWS account" in errors["image"][0]
    pending = ImageFactory(aws_account=account, state="PENDING")
    errors = _create_refused(_request(account, pending))
    assert errors["image"] == [f"Image {pending.image_id} is PENDING; a bundle needs an AVAILABLE image."]
    elsewhere = ImageFactory(aws_account=account, region="eu-west-1")
    errors = _create_refused(_request(account, elsewhere))
    assert "copy it there first" in errors["image"][0]


def test_a_name_the_account_already_uses_is_refused(account, image, no_aws_calls):
    BundleFactory(aws_account=account, name="win11-standard")
    errors = _create_refused(_request(account, image))
    assert "already has a bundle named 'win11-standard'" in errors["name"][0]


def test_update_to_an_image_that_is_not_available_is_refused_and_audited(account, image, no_aws_calls):
    bundle = BundleFactory(aws_account=account, image=image, tags={"PartnerManaged": "true"})
    pending = ImageFactory(aws_account=account, state="PENDING")
    with pytest.raises(BundleInvalid) as excinfo:
        bundle_update_image(actor=ACTOR, bundle=bundle, image=pending)
    assert "a bundle needs an AVAILABLE image" in excinfo.value.errors["image"][0]
    with pytest.raises(BundleInvalid) as excinfo:
        bundle_update_image(actor=ACTOR, bundle=bundle, image=image)
    assert excinfo.value.errors["image"] == [f"The bundle already uses {image.image_id}."]
    assert (
        list(AuditEvent.objects.values_list("action", "outcome"))
        == [("UpdateWorkspaceBundle", "REFUSED")] * 2
    )
    bundle.refresh_from_db()
    assert bundle.image == image


def test_the_tag_guard_refuses_a_bundle_recorded_without_our_tag(account, image, no_aws_calls):
    bundle = BundleFactory(aws_account=account, tags={"Team": "customer"})
    with pytest.raises(TagGuardRefused):
        bundle_update_image(actor=ACTOR, bundle=bundle, image=image)
    with pytest.raises(TagGuardRefused):
        bundle_delete(actor=ACTOR, bundle=bundle)
    assert sorted(AuditEvent.objects.values_list("action", "outcome", "error_code")) == [
        ("DeleteWorkspaceBundle", "REFUSED", "TagGuardRefused"),
        ("UpdateWorkspaceBundle", "REFUSED", "TagGuardRefused"),
    ]
    assert Bundle.objects.filter(pk=bundle.pk).exists()


def test_delete_is_refused_while_live_desktops_or_a_pipeline_use_the_bundle(account, no_aws_calls):
    bundle = BundleFactory(aws_account=account, tags={"PartnerManaged": "true"})
    desktop = DesktopFactory(aws_account=account, bundle=bundle)
    DesktopFactory(aws_account=account, bundle=bundle, state=DesktopState.TERMINATED)
    pipeline = GoldenImagePipeline.objects.create(
        customer=account.customer,
        aws_account=account,
        region="us-east-1",
        name="nightly",
        golden_desktop=desktop,
        image_name_prefix="golden",
    )
    pipeline.target_bundles.add(bundle)
    with pytest.raises(BundleInvalid) as excinfo:
        bundle_delete(actor=ACTOR, bundle=bundle)
    assert excinfo.value.errors["bundle"] == [
        f"1 live desktops use {bundle.bundle_id}: terminate or migrate them first.",
        "Golden-image pipelines update this bundle: nightly.",
    ]
    assert AuditEvent.objects.get().outcome == "REFUSED"
    assert Bundle.objects.filter(pk=bundle.pk).exists()
