"""EC2 DescribeImages over the seeded AMIs, with the seed's filters (R4), and the demo world's shape."""

from __future__ import annotations

from tests.simulator.conftest import admin_credentials, make_client


def test_describe_images_shows_the_attributes_the_seed_lists(simulator, demo_world):
    acme = demo_world["accounts"][0]
    ec2 = make_client("ec2", simulator.endpoint_url, admin_credentials(acme))
    images = {i["ImageId"]: i for i in ec2.describe_images(Owners=["self"])["Images"]}
    assert set(images) == {a["image_id"] for a in acme["amis"]}
    image = images[acme["amis"][0]["image_id"]]
    for key in (
        "VirtualizationType",
        "Description",
        "PlatformDetails",
        "EnaSupport",
        "Hypervisor",
        "State",
        "ImageId",
        "OwnerId",
        "ImageType",
        "Name",
    ):
        assert key in image, key
    volume = image["BlockDeviceMappings"][0]["Ebs"]
    assert (volume["VolumeType"], volume["VolumeSize"], volume["Encrypted"]) == ("gp3", 50, False)
    assert image["OwnerId"] == acme["account_id"]


def test_the_seed_filters_work_through_boto3(simulator, demo_world):
    acme = demo_world["accounts"][0]
    ec2 = make_client("ec2", simulator.endpoint_url, admin_credentials(acme))
    filters = [
        {"Name": "virtualization-type", "Values": ["hvm"]},
        {"Name": "state", "Values": ["available"]},
        {"Name": "image-type", "Values": ["machine"]},
        {"Name": "block-device-mapping.encrypted", "Values": ["false"]},
    ]
    names = {i["Name"] for i in ec2.describe_images(Owners=["self"], Filters=filters)["Images"]}
    assert names == {
        "win10-ent-22h2-golden",
        "win11-ent-23h2-golden",
        "win10-ent-small-disk",
        "win10-ent-huge-disk",
    }
    kernels = ec2.describe_images(Owners=["self"], Filters=[{"Name": "image-type", "Values": ["kernel"]}])[
        "Images"
    ]
    assert [k["Name"] for k in kernels] == ["win10-kernel"]


def test_demo_world_is_deterministic_and_complete(simulator, demo_world):
    first = demo_world
    again = simulator.reset(seed=0, demo_world=True)["demo_world"]

    def strip(world):
        return [{k: v for k, v in a.items() if k != "admin_secret_access_key"} for a in world["accounts"]]  # noqa: E731

    assert strip(again) == strip(first)
    for account in first["accounts"]:
        assert len(account["account_id"]) == 12
        assert account["role_arn"].startswith(f"arn:aws:iam::{account['account_id']}:role/")
        assert account["external_id"]
        assert len(account["subnet_ids"]) == 2
        assert account["directory_id"].startswith("d-")
        assert {a["kind"] for a in account["amis"]} >= {"importable", "encrypted", "too_small", "not_machine"}
    ds = make_client("ds", simulator.endpoint_url, admin_credentials(first["accounts"][0]))
    [directory] = ds.describe_directories()["DirectoryDescriptions"]
    assert directory["DirectoryId"] == first["accounts"][0]["directory_id"]
