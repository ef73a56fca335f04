"""The customer's temporary adoption/release stack: a second role in the customer's account, assumable with
the same External ID, allowed to tag a WorkSpace ``PartnerManaged=true`` and to remove that key, and
nothing else. The steady-state partner role stays refused both while the tag policy is on.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import PARTNER_TAG, admin_credentials, assume, create_desktops, make_client


def assume_adoption(simulator, account: dict, external_id: str | None = None) -> dict[str, str]:
    sts = make_client("sts", simulator.endpoint_url)
    credentials = sts.assume_role(
        RoleArn=account["adoption_role_arn"],
        RoleSessionName="partner-adoption",
        ExternalId=external_id or account["external_id"],
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def denied(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException", raised.value.response
    return raised.value.response["Error"]["Message"]


def tags_of(client, resource_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.describe_tags(ResourceId=resource_id)["TagList"]}


@pytest.fixture
def stack(simulator, acme):
    """acme with its tag policy on, one desktop of its own (untagged) and the adoption stack deployed."""
    simulator.set_tag_enforcement(acme["account_id"])
    ws = make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))
    customer_desktop = ws.create_workspaces(
        Workspaces=[{"DirectoryId": acme["directory_id"], "UserName": "ceo", "BundleId": acme["bundle_id"]}]
    )["PendingRequests"][0]["WorkspaceId"]
    simulator.advance(1200)
    described = simulator.deploy_adoption_stack(acme["account_id"])
    assert described["adoption_stack"] is True
    return {
        **acme,
        "adoption_role_arn": described["adoption_role_arn"],
        "customer_desktop": customer_desktop,
        "ws": ws,
    }


def test_the_adoption_role_tags_and_untags_partner_managed(simulator, stack):
    adoption = make_client("workspaces", simulator.endpoint_url, assume_adoption(simulator, stack))
    desktop = stack["customer_desktop"]
    adoption.create_tags(ResourceId=desktop, Tags=PARTNER_TAG)
    assert tags_of(stack["ws"], desktop) == {"PartnerManaged": "true"}
    # Adopted: the steady-state role may now act on it under the tag policy.
    partner = make_client("workspaces", simulator.endpoint_url, assume(simulator, stack))
    assert (
        partner.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": desktop}])["FailedRequests"] == []
    )
    adoption.delete_tags(ResourceId=desktop, TagKeys=["PartnerManaged"])
    assert tags_of(stack["ws"], desktop) == {}
    assert [c["status"] for c in simulator.calls("CreateTags")] == [200]
    assert [c["status"] for c in simulator.calls("DeleteTags")] == [200]


def test_the_adoption_role_can_do_nothing_else(simulator, stack):
    adoption = make_client("workspaces", simulator.endpoint_url, assume_adoption(simulator, stack))
    desktop = stack["customer_desktop"]
    # Tags other than PartnerManaged=true, alone or beside it, and keys other than PartnerManaged.
    denied(adoption.create_tags, ResourceId=desktop, Tags=[{"Key": "PartnerManaged", "Value": "false"}])
    denied(adoption.create_tags, ResourceId=desktop, Tags=[*PARTNER_TAG, {"Key": "Pool", "Value": "sales"}])
    denied(adoption.create_tags, ResourceId=desktop, Tags=[{"Key": "Pool", "Value": "sales"}])
    denied(adoption.delete_tags, ResourceId=desktop, TagKeys=["PartnerManaged", "Owner"])
    # Only WorkSpaces, not the account's images, bundles or directories.
    denied(adoption.create_tags, ResourceId=stack["bundle_id"], Tags=PARTNER_TAG)
    denied(adoption.create_tags, ResourceId=stack["image_id"], Tags=PARTNER_TAG)
    denied(adoption.create_tags, ResourceId=stack["directory_id"], Tags=PARTNER_TAG)
    # No reads, no power actions, no creates.
    denied(adoption.describe_workspaces)
    denied(adoption.describe_tags, ResourceId=desktop)
    denied(adoption.stop_workspaces, StopWorkspaceRequests=[{"WorkspaceId": desktop}])
    denied(adoption.terminate_workspaces, TerminateWorkspaceRequests=[{"WorkspaceId": desktop}])
    denied(
        adoption.create_workspaces,
        Workspaces=[
            {
                "DirectoryId": stack["directory_id"],
                "UserName": "alice",
                "BundleId": stack["bundle_id"],
                "Tags": PARTNER_TAG,
            }
        ],
    )
    assert tags_of(stack["ws"], desktop) == {}
    assert len(stack["ws"].describe_workspaces()["Workspaces"]) == 1
    assert stack["ws"].describe_workspaces()["Workspaces"][0]["State"] == "AVAILABLE"


def test_the_steady_state_role_cannot_tag_or_untag_partner_managed(simulator, stack):
    partner = make_client("workspaces", simulator.endpoint_url, assume(simulator, stack))
    [managed] = create_desktops(partner, stack, 1)
    desktop = stack["customer_desktop"]
    assert "is protected" in denied(partner.create_tags, ResourceId=desktop, Tags=PARTNER_TAG)
    denied(partner.delete_tags, ResourceId=managed, TagKeys=["PartnerManaged"])
    denied(partner.create_tags, ResourceId=managed, Tags=[{"Key": "PartnerManaged", "Value": "false"}])
    assert tags_of(stack["ws"], desktop) == {}
    assert tags_of(stack["ws"], managed) == {"PartnerManaged": "true"}


def test_the_role_exists_only_while_the_stack_is_deployed(simulator, acme):
    sts = make_client("sts", simulator.endpoint_url)
    adoption_role_arn = simulator.account(acme["account_id"])["adoption_role_arn"]
    with pytest.raises(ClientError) as raised:  # not deployed yet
        sts.assume_role(RoleArn=adoption_role_arn, RoleSessionName="partner", ExternalId=acme["external_id"])
    assert raised.value.response["Error"]["Code"] == "AccessDenied"

    simulator.deploy_adoption_stack(acme["account_id"])
    iam = make_client("iam", simulator.endpoint_url, admin_credentials(acme))
    role = iam.get_role(RoleName="PartnerAdoptionRole")["Role"]
    trust = role["AssumeRolePolicyDocument"]  # botocore decodes IAM's policy documents
    assert trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == acme["external_id"]
    policy = iam.get_role_policy(RoleName="PartnerAdoptionRole", PolicyName="PartnerAdoption")[
        "PolicyDocument"
    ]
    assert {s["Action"] for s in policy["Statement"]} == {
        "workspaces:CreateTags",
        "workspaces:DeleteTags",
    }
    with pytest.raises(ClientError) as raised:  # the same External ID is required
        sts.assume_role(RoleArn=adoption_role_arn, RoleSessionName="partner", ExternalId="wrong")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    session = assume_adoption(simulator, {**acme, "adoption_role_arn": adoption_role_arn})

    ws = make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))
    desktop = ws.create_workspaces(
        Workspaces=[{"DirectoryId": acme["directory_id"], "UserName": "cfo", "BundleId": acme["bundle_id"]}]
    )["PendingRequests"][0]["WorkspaceId"]
    assert simulator.delete_adoption_stack(acme["account_id"])["adoption_stack"] is False
    with pytest.raises(ClientError):
        iam.get_role(RoleName="PartnerAdoptionRole")
    # A session issued before the stack was deleted has no permission left.
    message = denied(
        make_client("workspaces", simulator.endpoint_url, session).create_tags,
        ResourceId=desktop,
        Tags=PARTNER_TAG,
    )
    assert "deleted" in message
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=adoption_role_arn, RoleSessionName="partner", ExternalId=acme["external_id"])
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_a_world_option_deploys_it_with_the_account(simulator):
    account = simulator.create_customer_account("333333333333", name="initech", adoption_stack=True)
    assert account["adoption_stack"] is True
    assert simulator.update_account("333333333333", adoption_stack=False)["adoption_stack"] is False
