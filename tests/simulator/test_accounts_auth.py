"""Customer accounts: AssumeRole with the External ID, account routing, credential expiry (F9)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.simulator.conftest import assume, create_desktops, make_client


def test_assume_role_needs_the_external_id(simulator, acme):
    sts = make_client("sts", simulator.endpoint_url)
    for external_id in ("wrong", None):
        kwargs = {"ExternalId": external_id} if external_id else {}
        with pytest.raises(ClientError) as raised:
            sts.assume_role(RoleArn=acme["role_arn"], RoleSessionName="partner", **kwargs)
        assert raised.value.response["Error"]["Code"] == "AccessDenied"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as raised:  # a role that is not the account's partner role
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{acme['account_id']}:role/Other",
            RoleSessionName="partner",
            ExternalId=acme["external_id"],
        )
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_confused_deputy_another_customers_role_with_our_external_id(simulator, demo_world):
    acme, globex = demo_world["accounts"]
    sts = make_client("sts", simulator.endpoint_url)
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=globex["role_arn"], RoleSessionName="partner", ExternalId=acme["external_id"])
    assert raised.value.response["Error"]["Code"] == "AccessDenied"


def test_assumed_role_requests_land_in_the_customer_account(simulator, demo_world_ready):
    acme, globex = demo_world_ready["accounts"]
    acme_ws = make_client("workspaces", simulator.endpoint_url, assume(simulator, acme))
    globex_ws = make_client("workspaces", simulator.endpoint_url, assume(simulator, globex))
    create_desktops(acme_ws, acme, 2)
    assert len(acme_ws.describe_workspaces()["Workspaces"]) == 2
    assert globex_ws.describe_workspaces()["Workspaces"] == []
    partner = make_client("workspaces", simulator.endpoint_url)
    assert partner.describe_workspaces()["Workspaces"] == []
    identity = make_client("sts", simulator.endpoint_url, assume(simulator, acme)).get_caller_identity()
    assert identity["Account"] == acme["account_id"]
    assert [c["account_id"] for c in simulator.calls("CreateWorkspaces")] == [acme["account_id"]]
    assert simulator.call_counts(account_id=globex["account_id"]) == {"DescribeWorkspaces": 1}


def test_credentials_expire_on_the_simulated_clock(simulator, acme):
    credentials = assume(simulator, acme, DurationSeconds=900)
    client = make_client("workspaces", simulator.endpoint_url, credentials)
    [issued] = simulator.credentials()
    assert issued["expires_at"] == pytest.approx(simulator.clock()["epoch"] + 900)
    client.describe_workspaces()
    simulator.advance(899)
    client.describe_workspaces()
    simulator.advance(1)
    with pytest.raises(ClientError) as raised:
        client.describe_workspaces()
    assert raised.value.response["Error"]["Code"] == "ExpiredTokenException"
    ec2 = make_client("ec2", simulator.endpoint_url, credentials)
    with pytest.raises(ClientError) as raised:
        ec2.describe_images(Owners=["self"])
    assert raised.value.response["Error"]["Code"] == "ExpiredToken"
    fresh = make_client("workspaces", simulator.endpoint_url, assume(simulator, acme))
    fresh.describe_workspaces()


def test_expiry_is_reported_in_simulated_time_and_can_be_forced(simulator, acme):
    sts = make_client("sts", simulator.endpoint_url)
    response = sts.assume_role(
        RoleArn=acme["role_arn"],
        RoleSessionName="partner",
        ExternalId=acme["external_id"],
        DurationSeconds=3600,
    )
    expiration = response["Credentials"]["Expiration"].timestamp()
    assert expiration == pytest.approx(simulator.clock()["epoch"] + 3600, abs=1)
    client = make_client(
        "workspaces",
        simulator.endpoint_url,
        {
            "aws_access_key_id": response["Credentials"]["AccessKeyId"],
            "aws_secret_access_key": response["Credentials"]["SecretAccessKey"],
            "aws_session_token": response["Credentials"]["SessionToken"],
        },
    )
    assert simulator.expire_credentials(account_id=acme["account_id"]) == 1
    with pytest.raises(ClientError) as raised:
        client.describe_workspaces()
    assert raised.value.response["Error"]["Code"] == "ExpiredTokenException"


def test_duration_beyond_the_roles_maximum_is_refused(simulator, acme):
    sts = make_client("sts", simulator.endpoint_url)
    with pytest.raises(ClientError) as raised:
        sts.assume_role(
            RoleArn=acme["role_arn"],
            RoleSessionName="partner",
            ExternalId=acme["external_id"],
            DurationSeconds=7200,
        )
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    simulator.update_account(acme["account_id"], max_session_duration=43200)
    assume(simulator, acme, DurationSeconds=7200)


def test_create_customer_account_with_role_and_external_id(simulator):
    account = simulator.create_customer_account(name="initech", external_id="ext-initech-1")
    assert len(account["account_id"]) == 12
    assert account["role_arn"] == f"arn:aws:iam::{account['account_id']}:role/WorkSpacesCorePartnerRole"
    iam = make_client(
        "iam",
        simulator.endpoint_url,
        {
            "aws_access_key_id": account["admin_access_key_id"],
            "aws_secret_access_key": account["admin_secret_access_key"],
        },
    )
    role = iam.get_role(RoleName="WorkSpacesCorePartnerRole")["Role"]
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:ExternalId": "ext-initech-1"}}
    assume(simulator, account)
    assert [a["account_id"] for a in simulator.accounts()] == [account["account_id"]]
