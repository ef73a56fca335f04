"""Image import (R4), golden images (R11), image sharing and bundles (R7)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, create_desktops, make_client


def ami_of(account, kind):
    return next(a["image_id"] for a in account["amis"] if a["kind"] == kind)


def import_image(ws, ami_id, name="img-1", process="BYOL_REGULAR_BYOP"):
    return ws.import_workspace_image(
        Ec2ImageId=ami_id, IngestionProcess=process, ImageName=name, ImageDescription="Windows 10 Enterprise"
    )["ImageId"]


def image(ws, image_id):
    return ws.describe_workspace_images(ImageIds=[image_id])["Images"][0]


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def test_import_goes_pending_then_available(simulator, acme, ws):
    image_id = import_image(ws, ami_of(acme, "importable"))
    described = image(ws, image_id)
    assert described["State"] == "PENDING"
    assert described["RequiredTenancy"] == "DEDICATED"
    assert described["OperatingSystem"] == {"Type": "WINDOWS"}
    assert described["OwnerAccountId"] == acme["account_id"]
    simulator.advance(2700)
    assert image(ws, image_id)["State"] == "AVAILABLE"


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("too_small", "InsufficientDiskSpace"),
        ("too_large", "DiskSizeExceeded"),
        ("not_machine", "OSNotSupported"),
    ],
)
def test_unimportable_amis_end_in_error_with_a_message(simulator, acme, ws, kind, detail):
    image_id = import_image(ws, ami_of(acme, kind))
    simulator.advance(2700)
    described = image(ws, image_id)
    assert described["State"] == "ERROR"
    assert described["ErrorCode"] == "ImageImportValidationFailed"
    assert described["ErrorMessage"]
    assert described["ErrorDetails"][0]["ErrorCode"] == detail


def test_import_refusals(simulator, acme, ws):
    assert (
        error_code(
            ws.import_workspace_image,
            Ec2ImageId=ami_of(acme, "encrypted"),
            IngestionProcess="BYOL_REGULAR_BYOP",
            ImageName="e",
            ImageDescription="d",
        )
        == "InvalidParameterValuesException"
    )
    assert (
        error_code(
            ws.import_workspace_image,
            Ec2ImageId="ami-0123456789abcdef0",
            IngestionProcess="BYOL_REGULAR_BYOP",
            ImageName="n",
            ImageDescription="d",
        )
        == "ResourceNotFoundException"
    )
    assert (
        error_code(
            ws.import_workspace_image,
            Ec2ImageId=ami_of(acme, "pending"),
            IngestionProcess="BYOL_REGULAR_BYOP",
            ImageName="p",
            ImageDescription="d",
        )
        == "InvalidParameterValuesException"
    )
    import_image(ws, ami_of(acme, "importable"), name="dup")
    assert (
        error_code(
            ws.import_workspace_image,
            Ec2ImageId=ami_of(acme, "importable"),
            IngestionProcess="BYOL_REGULAR_BYOP",
            ImageName="dup",
            ImageDescription="d",
        )
        == "ResourceAlreadyExistsException"
    )


def test_byop_ingestion_needs_a_byop_account(simulator, acme, ws):
    simulator.update_account(acme["account_id"], byop_enabled=False)
    code = error_code(
        ws.import_workspace_image,
        Ec2ImageId=ami_of(acme, "importable"),
        IngestionProcess="BYOL_GRAPHICS_G4DN_BYOP",
        ImageName="g",
        ImageDescription="d",
    )
    assert code == "OperationNotSupportedException"
    assert import_image(ws, ami_of(acme, "importable"), process="BYOL_REGULAR").startswith("wsi-")


def test_import_before_byol_is_configured_fails_validation(simulator, demo_world):
    globex = demo_world["accounts"][1]
    client = make_client(
        "workspaces",
        simulator.endpoint_url,
        {
            "aws_access_key_id": globex["admin_access_key_id"],
            "aws_secret_access_key": globex["admin_secret_access_key"],
        },
    )
    image_id = import_image(client, ami_of(globex, "importable"))
    simulator.advance(2700)
    described = image(client, image_id)
    assert described["State"] == "ERROR"
    assert described["ErrorDetails"][0]["ErrorCode"] == "WorkspacesBYOLAccountDisabled"


def test_create_workspace_image_and_update_bundle(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)
    assert (
        error_code(ws.create_workspace_image, Name="golden", Description="g", WorkspaceId=workspace_id)
        == "InvalidResourceStateException"
    )
    simulator.advance(1200)
    created = ws.create_workspace_image(
        Name="golden-2024-01", Description="nightly golden", WorkspaceId=workspace_id, Tags=PARTNER_TAG
    )
    assert created["State"] == "PENDING"
    assert created["RequiredTenancy"] == "DEDICATED"
    assert (
        error_code(ws.update_workspace_bundle, BundleId=acme["bundle_id"], ImageId=created["ImageId"])
        == "ResourceUnavailableException"
    )
    simulator.advance(1800)
    ws.update_workspace_bundle(BundleId=acme["bundle_id"], ImageId=created["ImageId"])
    [bundle] = ws.describe_workspace_bundles(BundleIds=[acme["bundle_id"]])["Bundles"]
    assert bundle["ImageId"] == created["ImageId"]
    assert (
        error_code(
            ws.create_workspace_image, Name="golden-2024-01", Description="again", WorkspaceId=workspace_id
        )
        == "ResourceAlreadyExistsException"
    )


def test_copy_image_across_regions(simulator, acme, ws):
    west = make_client(
        "workspaces",
        simulator.endpoint_url,
        {
            "aws_access_key_id": acme["admin_access_key_id"],
            "aws_secret_access_key": acme["admin_secret_access_key"],
        },
        region_name="us-west-2",
    )
    copy_id = west.copy_workspace_image(
        Name="west-copy", SourceImageId=acme["image_id"], SourceRegion="us-east-1"
    )["ImageId"]
    assert image(west, copy_id)["State"] == "PENDING"
    simulator.advance(1200)
    assert image(west, copy_id)["State"] == "AVAILABLE"
    assert ws.describe_workspace_images(ImageIds=[copy_id])["Images"] == []  # it lives in us-west-2
    assert (
        error_code(
            west.copy_workspace_image, Name="x", SourceImageId="wsi-nosuchimg", SourceRegion="us-east-1"
        )
        == "ResourceNotFoundException"
    )


def test_image_permissions_share_with_another_account(simulator, demo_world_ready, ws, acme):
    globex = demo_world_ready["accounts"][1]
    ws.update_workspace_image_permission(
        ImageId=acme["image_id"], AllowCopyImage=True, SharedAccountId=globex["account_id"]
    )
    permissions = ws.describe_workspace_image_permissions(ImageId=acme["image_id"])
    assert permissions["ImagePermissions"] == [{"SharedAccountId": globex["account_id"]}]
    other = make_client(
        "workspaces",
        simulator.endpoint_url,
        {
            "aws_access_key_id": globex["admin_access_key_id"],
            "aws_secret_access_key": globex["admin_secret_access_key"],
        },
    )
    shared = other.describe_workspace_images(ImageType="SHARED")["Images"]
    assert [i["ImageId"] for i in shared] == [acme["image_id"]]
    copied = other.copy_workspace_image(
        Name="from-acme", SourceImageId=acme["image_id"], SourceRegion="us-east-1"
    )
    assert copied["ImageId"].startswith("wsi-")
    ws.update_workspace_image_permission(
        ImageId=acme["image_id"], AllowCopyImage=False, SharedAccountId=globex["account_id"]
    )
    assert other.describe_workspace_images(ImageType="SHARED")["Images"] == []
    assert (
        error_code(ws.describe_workspace_image_permissions, ImageId="wsi-nosuchimg")
        == "ResourceNotFoundException"
    )
    assert (
        error_code(
            ws.update_workspace_image_permission,
            ImageId=acme["image_id"],
            AllowCopyImage=True,
            SharedAccountId=acme["account_id"],
        )
        == "InvalidParameterValuesException"
    )


def test_delete_image_rules(simulator, acme, ws):
    assert error_code(ws.delete_workspace_image, ImageId=acme["image_id"]) == "ResourceAssociatedException"
    pending = import_image(ws, ami_of(acme, "importable"), name="pending-one")
    assert error_code(ws.delete_workspace_image, ImageId=pending) == "InvalidResourceStateException"
    simulator.advance(2700)
    ws.delete_workspace_image(ImageId=pending)
    assert ws.describe_workspace_images(ImageIds=[pending])["Images"] == []
    ws.delete_workspace_image(ImageId="wsi-alreadygone")  # AWS answers success


def test_bundle_create_describe_delete(simulator, acme, ws):
    created = ws.create_workspace_bundle(
        BundleName="power-bundle",
        BundleDescription="Power with Windows 10",
        ImageId=acme["image_id"],
        ComputeType={"Name": "POWER"},
        RootStorage={"Capacity": "175"},
        UserStorage={"Capacity": "100"},
        Tags=PARTNER_TAG,
    )["WorkspaceBundle"]
    assert created["Owner"] == acme["account_id"]
    assert created["State"] == "AVAILABLE"
    assert (
        error_code(
            ws.create_workspace_bundle,
            BundleName="power-bundle",
            BundleDescription="d",
            ImageId=acme["image_id"],
            ComputeType={"Name": "POWER"},
            UserStorage={"Capacity": "100"},
        )
        == "ResourceAlreadyExistsException"
    )
    assert (
        error_code(
            ws.create_workspace_bundle,
            BundleName="odd",
            BundleDescription="d",
            ImageId=acme["image_id"],
            ComputeType={"Name": "POWER"},
            RootStorage={"Capacity": "90"},
            UserStorage={"Capacity": "10"},
        )
        == "InvalidParameterValuesException"
    )
    assert (
        error_code(
            ws.create_workspace_bundle,
            BundleName="none",
            BundleDescription="d",
            ImageId="wsi-nosuchimg",
            ComputeType={"Name": "POWER"},
            UserStorage={"Capacity": "10"},
        )
        == "ResourceNotFoundException"
    )
    assert (
        error_code(
            ws.create_workspace_bundle,
            BundleName="gpu",
            BundleDescription="d",
            ImageId=acme["image_id"],
            ComputeType={"Name": "GRAPHICS_G4DN"},
            UserStorage={"Capacity": "10"},
        )
        == "InvalidParameterValuesException"
    )
    owned = {b["BundleId"] for b in ws.describe_workspace_bundles()["Bundles"]}
    assert owned == {acme["bundle_id"], created["BundleId"]}
    amazon = ws.describe_workspace_bundles(Owner="AMAZON")["Bundles"]
    assert {b["Owner"] for b in amazon} == {"Amazon"}  # how AWS spells the owner of its public bundles
    assert (
        error_code(ws.describe_workspace_bundles, Owner="AMAZON", BundleIds=[acme["bundle_id"]])
        == "InvalidParameterValuesException"
    )
    create_desktops(ws, acme, 1)
    assert error_code(ws.delete_workspace_bundle, BundleId=acme["bundle_id"]) == "ResourceAssociatedException"
    ws.delete_workspace_bundle(BundleId=created["BundleId"])
    assert error_code(ws.delete_workspace_bundle, BundleId=created["BundleId"]) == "ResourceNotFoundException"
    assert (
        error_code(ws.update_workspace_bundle, BundleId="wsb-nosuchbndl", ImageId=acme["image_id"])
        == "ResourceNotFoundException"
    )
