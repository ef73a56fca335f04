"""The seed guide's two example commands, run by the real AWS CLI against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AWS_CLI = Path(sys.executable).with_name("aws")


def run_aws(endpoint: str, account: dict, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": account["admin_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": account["admin_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    completed = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout or "{}")


@pytest.mark.slow
def test_seed_import_workspace_image_command(simulator, acme):
    ami = next(a for a in acme["amis"] if a["kind"] == "importable")
    # Verbatim from the seed but for the AMI id.
    result = run_aws(
        simulator.endpoint_url,
        acme,
        "workspaces",
        "import-workspace-image",
        "--ec2-image-id",
        ami["image_id"],
        "--ingestion-process",
        "BYOL_REGULAR_BYOP",
        "--image-name",
        "win10-ent-img01",
        "--image-description",
        "Windows 10 Enterprise",
    )
    assert result["ImageId"].startswith("wsi-")
    [call] = simulator.calls("ImportWorkspaceImage")
    assert call["request"]["IngestionProcess"] == "BYOL_REGULAR_BYOP"
    described = run_aws(
        simulator.endpoint_url,
        acme,
        "workspaces",
        "describe-workspace-images",
        "--image-ids",
        result["ImageId"],
    )
    assert described["Images"][0]["State"] == "PENDING"


@pytest.mark.slow
def test_seed_create_workspaces_command(simulator, acme):
    # Bash turns UserName='"[UNDEFINED]"' into the shorthand value "[UNDEFINED]" (quoted for the parser).
    shorthand = f'DirectoryId={acme["directory_id"]},UserName="[UNDEFINED]",WorkspaceName=desktop1,BundleId={acme["bundle_id"]}'
    result = run_aws(
        simulator.endpoint_url, acme, "workspaces", "create-workspaces", "--workspaces", shorthand
    )
    assert result["FailedRequests"] == []
    [pending] = result["PendingRequests"]
    assert pending["UserName"] == "[UNDEFINED]"
    assert pending["WorkspaceName"] == "desktop1"
    assert pending["State"] == "PENDING"


@pytest.mark.slow
def test_cli_shell_quoting_matches_the_seed(simulator, acme):
    """Run the create command through bash exactly as the seed prints it (ids substituted)."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": simulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": acme["admin_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": acme["admin_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": f"{AWS_CLI.parent}:{os.environ.get('PATH', '')}",
    }
    command = (
        f"aws workspaces create-workspaces --workspaces DirectoryId={acme['directory_id']},"
        f"UserName='\"[UNDEFINED]\"',WorkspaceName=desktop2,BundleId={acme['bundle_id']} --output json"
    )
    completed = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["PendingRequests"][0]["UserName"] == "[UNDEFINED]"
