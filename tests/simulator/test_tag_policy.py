"""The seed's tag-based authorization policy (R2), switched on per account."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, create_desktops


def denied(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    return raised.value.response["Error"]["Message"]


@pytest.fixture
def enforced(simulator, acme):
    simulator.set_tag_enforcement(acme["account_id"])
    return acme


def test_creates_need_the_partner_tag(simulator, enforced, partner_ws):
    request = {
        "DirectoryId": enforced["directory_id"],
        "UserName": "alice",
        "BundleId": enforced["bundle_id"],
    }
    message = denied(partner_ws.create_workspaces, Workspaces=[request])
    assert "PartnerManaged" in message
    denied(
        partner_ws.create_workspaces,
        Workspaces=[{**request, "Tags": [{"Key": "PartnerManaged", "Value": "false"}]}],
    )
    assert partner_ws.describe_workspaces()["Workspaces"] == []
    assert partner_ws.create_workspaces(Workspaces=[{**request, "Tags": PARTNER_TAG}])["FailedRequests"] == []
    ami = next(a["image_id"] for a in enforced["amis"] if a["kind"] == "importable")
    denied(
        partner_ws.import_workspace_image,
        Ec2ImageId=ami,
        IngestionProcess="BYOL_REGULAR_BYOP",
        ImageName="i",
        ImageDescription="d",
    )
    denied(
        partner_ws.copy_workspace_image,
        Name="c",
        SourceImageId=enforced["image_id"],
        SourceRegion="us-east-1",
    )
    denied(
        partner_ws.create_workspace_bundle,
        BundleName="b",
        BundleDescription="d",
        ImageId=enforced["image_id"],
        ComputeType={"Name": "STANDARD"},
        UserStorage={"Capacity": "50"},
    )
    denied(partner_ws.register_workspace_directory, DirectoryId=enforced["directory_id"])


def test_modifying_untagged_resources_is_denied(simulator, enforced, ws, partner_ws):
    # The customer's own desktop (made with the customer's admin key, without the tag).
    untagged = ws.create_workspaces(
        Workspaces=[
            {"DirectoryId": enforced["directory_id"], "UserName": "ceo", "BundleId": enforced["bundle_id"]}
        ]
    )["PendingRequests"][0]["WorkspaceId"]
    [tagged] = create_desktops(partner_ws, enforced, 1)
    simulator.advance(1200)
    denied(partner_ws.terminate_workspaces, TerminateWorkspaceRequests=[{"WorkspaceId": untagged}])
    denied(
        partner_ws.stop_workspaces, StopWorkspaceRequests=[{"WorkspaceId": tagged}, {"WorkspaceId": untagged}]
    )
    denied(
        partner_ws.modify_workspace_properties,
        WorkspaceId=untagged,
        WorkspaceProperties={"RunningMode": "MANUAL"},
    )
    denied(partner_ws.reboot_workspaces, RebootWorkspaceRequests=[{"WorkspaceId": untagged}])
    denied(partner_ws.rebuild_workspaces, RebuildWorkspaceRequests=[{"WorkspaceId": untagged}])
    denied(partner_ws.restore_workspace, WorkspaceId=untagged)
    denied(partner_ws.modify_workspace_state, WorkspaceId=untagged, WorkspaceState="ADMIN_MAINTENANCE")
    assert partner_ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": tagged}])["FailedRequests"] == []
    # Reads are not restricted.
    assert len(partner_ws.describe_workspaces()["Workspaces"]) == 2


@pytest.mark.slow
def test_the_partner_role_changes_no_tag_at_all(simulator, enforced, partner_ws):
    [workspace_id] = create_desktops(partner_ws, enforced, 1)
    assert "is protected" in denied(
        partner_ws.delete_tags, ResourceId=workspace_id, TagKeys=["PartnerManaged"]
    )
    denied(
        partner_ws.create_tags, ResourceId=workspace_id, Tags=[{"Key": "PartnerManaged", "Value": "false"}]
    )
    # Not even another key on a resource of ours: the steady-state role has no CreateTags/DeleteTags.
    assert "may not modify or delete tags" in denied(
        partner_ws.create_tags, ResourceId=workspace_id, Tags=[{"Key": "Pool", "Value": "sales"}]
    )
    denied(partner_ws.delete_tags, ResourceId=workspace_id, TagKeys=["Pool"])
    tags = {t["Key"]: t["Value"] for t in partner_ws.describe_tags(ResourceId=workspace_id)["TagList"]}
    assert tags == {"PartnerManaged": "true"}


def test_strict_tag_keys_allow_only_the_partner_tag(simulator, acme, partner_ws):
    simulator.set_tag_enforcement(acme["account_id"], strict_keys=True)
    request = {
        "DirectoryId": acme["directory_id"],
        "UserName": "alice",
        "BundleId": acme["bundle_id"],
        "Tags": [*PARTNER_TAG, {"Key": "Job", "Value": "42"}],
    }
    assert "aws:TagKeys" in denied(partner_ws.create_workspaces, Workspaces=[request])


def test_switched_off_by_default_and_admin_keys_are_not_subject(simulator, acme, ws, partner_ws):
    request = {"DirectoryId": acme["directory_id"], "UserName": "alice", "BundleId": acme["bundle_id"]}
    assert partner_ws.create_workspaces(Workspaces=[request])["FailedRequests"] == []
    simulator.set_tag_enforcement(acme["account_id"])
    assert ws.create_workspaces(Workspaces=[{**request, "UserName": "bob"}])["FailedRequests"] == []
    simulator.set_tag_enforcement(acme["account_id"], enabled=False)
    assert partner_ws.create_workspaces(Workspaces=[{**request, "UserName": "carol"}])["FailedRequests"] == []
