"""Fixtures for the simulator's own tests: boto3 clients that do not retry, so each call is one request."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from simulator.control import SimulatorControl


def pytest_configure(config: pytest.Config) -> None:
    # pytest_plugins is only allowed in the root conftest, which is not ours: register the plugin here.
    if not config.pluginmanager.has_plugin("simulator.pytest_plugin"):
        config.pluginmanager.import_plugin("simulator.pytest_plugin")


NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
REGION = "us-east-1"
PARTNER_TAG = [{"Key": "PartnerManaged", "Value": "true"}]


def make_client(service: str, endpoint: str, credentials: dict[str, str] | None = None, **kwargs: Any) -> Any:
    credentials = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=kwargs.pop("region_name", REGION),
        config=kwargs.pop("config", NO_RETRIES),
        **credentials,
        **kwargs,
    )


def admin_credentials(account: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": account["admin_access_key_id"],
        "aws_secret_access_key": account["admin_secret_access_key"],
    }


def assume(simulator: SimulatorControl, account: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    sts = make_client("sts", simulator.endpoint_url)
    credentials = sts.assume_role(
        RoleArn=account["role_arn"],
        RoleSessionName="partner-tests",
        ExternalId=account["external_id"],
        **kwargs,
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


@pytest.fixture
def acme(demo_world_ready: dict[str, Any]) -> dict[str, Any]:
    """The onboarded demo customer: BYOL done, directory DEDICATED, image AVAILABLE, bundle."""
    return demo_world_ready["accounts"][0]


@pytest.fixture
def ws(simulator: SimulatorControl, acme: dict[str, Any]) -> Any:
    """WorkSpaces client of acme's customer admin (not subject to the partner's tag policy)."""
    return make_client("workspaces", simulator.endpoint_url, admin_credentials(acme))


@pytest.fixture
def partner_ws(simulator: SimulatorControl, acme: dict[str, Any]) -> Any:
    """WorkSpaces client with the partner's assumed-role session in acme's account."""
    return make_client("workspaces", simulator.endpoint_url, assume(simulator, acme))


@pytest.fixture
def default_ws(simulator: SimulatorControl) -> Any:
    """WorkSpaces client of the default (partner) account 123456789012, nothing set up."""
    return make_client("workspaces", simulator.endpoint_url)


def create_desktops(
    client: Any, account: dict[str, Any], count: int, prefix: str = "user", **extra: Any
) -> list[str]:
    """Create ``count`` MANUAL desktops in chunks of 25; returns their ids."""
    ids: list[str] = []
    for start in range(0, count, 25):
        requests = [
            {
                "DirectoryId": account["directory_id"],
                "UserName": f"{prefix}{index}",
                "BundleId": account["bundle_id"],
                "WorkspaceProperties": {"RunningMode": "MANUAL"},
                "Tags": PARTNER_TAG,
                **extra,
            }
            for index in range(start, min(start + 25, count))
        ]
        result = client.create_workspaces(Workspaces=requests)
        assert result["FailedRequests"] == []
        ids.extend(item["WorkspaceId"] for item in result["PendingRequests"])
    return ids


def states(client: Any, ids: list[str]) -> list[str]:
    by_id = {w["WorkspaceId"]: w["State"] for w in client.describe_workspaces(WorkspaceIds=ids)["Workspaces"]}
    return [by_id.get(workspace_id, "GONE") for workspace_id in ids]
