"""In-process operations on the simulated world: customer accounts, sessions, credentials, the demo
world and reset. The HTTP control API (``/_simulator/...``) calls these; so can in-process Python.

Every function here must be called with ``STATE.lock`` held or from a single thread; the public
wrappers in :mod:`simulator.server` take the lock.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict
from moto.ds import ds_backends
from moto.ec2 import ec2_backends
from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random

from simulator import backend as sim_backend
from simulator.amis import DEFAULT_AMI_SPECS, seed_amis
from simulator.backend import SimWorkSpacesBackend
from simulator.operations import account as account_ops
from simulator.operations import bundles as bundle_ops
from simulator.operations import directories as directory_ops
from simulator.operations import images as image_ops
from simulator.operations.context import RequestContext
from simulator.state import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    PARTNER_ROLE_NAME,
    STATE,
    TAG_KEY,
    AccountSettings,
)

DEMO_CUSTOMERS = (("acme", "111111111111", "10.10"), ("globex", "222222222222", "10.20"))
DEMO_DIRECTORY_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - a fake AD password inside moto
PARTNER_TAGS = [{"Key": TAG_KEY, "Value": "true"}]


def reset(seed: int | None = None, time_scale: float | None = None) -> None:
    """Forget everything: moto's backends, accounts, credentials, faults, calls; restart the clock."""
    BackendDict.reset()
    STATE.reset(seed=seed, time_scale=time_scale)
    mock_random.seed(STATE.seed)
    sim_backend.install()


def _trust_policy(external_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


def _adoption_policy() -> str:
    """What the customer's temporary adoption/release stack lets the partner do, and nothing else."""
    workspaces = "arn:aws:workspaces:*:*:workspace/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AdoptTagPartnerManaged",
                    "Effect": "Allow",
                    "Action": "workspaces:CreateTags",
                    "Resource": workspaces,
                    "Condition": {
                        "StringEquals": {f"aws:RequestTag/{TAG_KEY}": "true"},
                        "ForAllValues:StringEquals": {"aws:TagKeys": [TAG_KEY]},
                    },
                },
                {
                    "Sid": "ReleaseUntagPartnerManaged",
                    "Effect": "Allow",
                    "Action": "workspaces:DeleteTags",
                    "Resource": workspaces,
                    "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [TAG_KEY]}},
                },
            ],
        }
    )


def set_adoption_stack(account_id: str, deployed: bool) -> dict[str, Any]:
    """Deploy or delete the customer's temporary adoption/release stack (its IAM role) in an account.

    The role is assumable by the partner with the account's External ID; its only permissions are
    tagging a WorkSpace ``PartnerManaged=true`` and removing that key. Deleting it leaves sessions
    already issued for it without any permission.
    """
    account = STATE.accounts.get(account_id)
    if account is None or not account.registered:
        raise KeyError(f"no customer account {account_id}")
    iam = iam_backends[account_id]["aws"]
    if deployed and not account.adoption_stack:
        iam.create_role(
            role_name=account.adoption_role_name,
            assume_role_policy_document=_trust_policy(account.external_id),
            path="/",
            permissions_boundary=None,
            description="Temporary: lets the partner tag WorkSpaces PartnerManaged=true (adopt) or untag them.",
            tags=[],
            max_session_duration=str(account.max_session_duration),
        )
        iam.put_role_policy(account.adoption_role_name, "PartnerAdoption", _adoption_policy())
    elif not deployed and account.adoption_stack:
        iam.delete_role_policy(account.adoption_role_name, "PartnerAdoption")
        iam.delete_role(account.adoption_role_name)
    account.adoption_stack = deployed
    return account.describe()


def _next_account_id() -> str:
    number = 300000000000 + sum(1 for a in STATE.accounts.values() if a.registered) + 1
    while str(number) in STATE.accounts and STATE.accounts[str(number)].registered:
        number += 1
    return str(number)


def create_customer_account(
    account_id: str | None = None,
    *,
    name: str = "",
    external_id: str | None = None,
    role_name: str = PARTNER_ROLE_NAME,
    **settings: Any,
) -> dict[str, Any]:
    """A customer account with the partner role (trust policy requiring the External ID) and an admin key.

    ``settings`` are :class:`AccountSettings` fields: ``tag_enforcement``, ``byop_enabled``,
    ``byol_eligible``, ``max_session_duration``, ``modify_account_outcome``, ``tag_policy_strict_keys``,
    ``workspace_quota``, ``unique_workspace_names``; ``adoption_stack=True`` also deploys the adoption stack.
    """
    adoption_stack = bool(settings.pop("adoption_stack", False))
    account_id = account_id or _next_account_id()
    if len(account_id) != 12 or not account_id.isdigit():
        raise ValueError("an account id has 12 digits")
    if STATE.accounts.get(account_id) is not None and STATE.accounts[account_id].registered:
        raise ValueError(f"account {account_id} already exists")
    account = AccountSettings(
        account_id=account_id,
        name=name or f"customer-{account_id}",
        role_name=role_name,
        external_id=external_id or STATE.default_external_id(account_id),
    )
    account.update(settings)
    iam = iam_backends[account_id]["aws"]
    iam.create_role(
        role_name=role_name,
        assume_role_policy_document=_trust_policy(account.external_id),
        path="/",
        permissions_boundary=None,
        description="Lets the WorkSpaces Core partner manage desktops (tag-based authorization).",
        tags=[],
        max_session_duration=str(account.max_session_duration),
    )
    iam.create_user(region_name=DEFAULT_REGION, user_name="customer-admin")
    key = iam.create_access_key(user_name="customer-admin")
    account.admin_access_key_id = key.access_key_id
    account.admin_secret_access_key = key.secret_access_key
    STATE.accounts[account_id] = account
    if adoption_stack:
        set_adoption_stack(account_id, True)
    return account.describe()


def update_account(account_id: str, **settings: Any) -> dict[str, Any]:
    if "adoption_stack" in settings:
        set_adoption_stack(account_id, bool(settings.pop("adoption_stack")))
    account = STATE.account(account_id)
    account.update(settings)
    return account.describe()


def expire_credentials(access_key_id: str | None = None, account_id: str | None = None) -> int:
    """Make assumed-role credentials expire now (all of an account's, or one key). Returns how many."""
    now = STATE.now()
    expired = 0
    for credential in STATE.credentials.values():
        if (access_key_id and credential.access_key_id == access_key_id) or (
            account_id and credential.account_id == account_id
        ):
            credential.expires_at = min(credential.expires_at, now)
            expired += 1
    return expired


def find_workspace(workspace_id: str) -> tuple[SimWorkSpacesBackend, Any]:
    for account_backends in list(sim_backend.workspaces_backends.values()):
        for backend in list(account_backends.values()):
            if workspace_id in backend.sim_workspaces:
                return backend, backend.sim_workspaces[workspace_id]
    raise KeyError(f"no WorkSpace {workspace_id}")


def set_connection(
    workspace_id: str,
    state: str | None = None,
    *,
    events: list[tuple[float, str]] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """Script a WorkSpace's user session.

    ``state`` (CONNECTED/DISCONNECTED) happens at ``at`` (epoch seconds, default now); ``events`` is a
    list of ``(seconds_from_now, state)`` for a whole timeline. Returns the status as AWS would now.
    """
    backend, workspace = find_workspace(workspace_id)
    now = backend.settle()
    timeline = list(events or [])
    if state is not None:
        timeline.append(((at - now) if at is not None else 0.0, state))
    for offset, value in timeline:
        if value not in ("CONNECTED", "DISCONNECTED"):
            raise ValueError("a session event is CONNECTED or DISCONNECTED")
        workspace.connection_events.append((now + float(offset), value))
    workspace.connection_events.sort(key=lambda event: event[0])
    return workspace.connection_status(now)


def workspace_snapshot(workspace_id: str) -> dict[str, Any]:
    backend, workspace = find_workspace(workspace_id)
    backend.settle()
    return {
        **workspace.to_dict(),
        "Tags": dict(workspace.tags),
        "AccountId": backend.account_id,
        "Region": backend.region_name,
        "AutoStoppedAt": workspace.auto_stopped_at,
    }


def deterministic_ami_ids(account_id: str, count: int) -> list[str]:
    return [
        "ami-" + hashlib.sha256(f"{STATE.seed}|{account_id}|ami|{index}".encode()).hexdigest()[:17]
        for index in range(count)
    ]


def build_customer_network(account_id: str, region: str, name: str, prefix: str) -> dict[str, Any]:
    """A VPC, two subnets in two AZs, an AWS Managed Microsoft AD and the seeded AMIs."""
    ec2 = ec2_backends[account_id][region]
    vpc = ec2.create_vpc(cidr_block=f"{prefix}.0.0/16", tags=[{"Key": "Name", "Value": f"{name}-vdi"}])
    subnets = [
        ec2.create_subnet(
            vpc_id=vpc.id, cidr_block=f"{prefix}.{index + 1}.0/24", availability_zone=f"{region}{zone}"
        )
        for index, zone in enumerate("ab")
    ]
    subnet_ids = [subnet.id for subnet in subnets]
    directory_id = ds_backends[account_id][region].create_microsoft_ad(
        region=region,
        name=f"corp.{name}.example.com",
        short_name=name.upper()[:15],
        password=DEMO_DIRECTORY_PASSWORD,
        description=f"{name} corporate directory",
        vpc_settings={"VpcId": vpc.id, "SubnetIds": subnet_ids},
        edition="Standard",
        tags=[],
    )
    amis = seed_amis(account_id, region, deterministic_ami_ids(account_id, len(DEFAULT_AMI_SPECS)))
    return {
        "vpc_id": vpc.id,
        "subnet_ids": subnet_ids,
        "directory_id": directory_id,
        "directory_name": f"corp.{name}.example.com",
        "amis": amis,
    }


def make_ready(account_id: str, region: str, network: dict[str, Any]) -> dict[str, Any]:
    """Do the onboarding steps at once: BYOL, DEDICATED directory, imported image, bundle (all tagged)."""
    backend = sim_backend.workspaces_backends[account_id][region]
    ctx = RequestContext(operation="DemoWorld", account_id=account_id, region=region)
    ranges = account_ops.available_management_ranges(backend, "10.0.0.0/8")
    account_ops.modify_account(
        backend, ctx, {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": ranges[0]}
    )
    now = STATE.now()
    backend.account_modifications[-1].completes_at = now
    directory_ops.register_workspace_directory(
        backend, ctx, {"DirectoryId": network["directory_id"], "Tenancy": "DEDICATED", "Tags": PARTNER_TAGS}
    )
    backend.sim_directories[network["directory_id"]].ready_at = now
    ami = next(a for a in network["amis"] if a["kind"] == "importable")
    image_id = image_ops.import_workspace_image(
        backend,
        ctx,
        {
            "Ec2ImageId": ami["image_id"],
            "IngestionProcess": "BYOL_REGULAR_BYOP",
            "ImageName": "demo-win10-byop",
            "ImageDescription": "Windows 10 Enterprise (demo)",
            "Tags": PARTNER_TAGS,
        },
    )["ImageId"]
    backend.sim_images[image_id].ready_at = now
    backend.settle()
    bundle = bundle_ops.create_workspace_bundle(
        backend,
        ctx,
        {
            "BundleName": "demo-win10-standard",
            "BundleDescription": "Windows 10 BYOP standard",
            "ImageId": image_id,
            "ComputeType": {"Name": "STANDARD"},
            "RootStorage": {"Capacity": "80"},
            "UserStorage": {"Capacity": "50"},
            "Tags": PARTNER_TAGS,
        },
    )["WorkspaceBundle"]
    return {"management_cidr": ranges[0], "image_id": image_id, "bundle_id": bundle["BundleId"]}


def create_demo_world(ready: bool = False, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Two customer accounts (acme, globex), each with network, directory and AMIs; JSON-able description.

    With ``ready`` each account is also onboarded (BYOL done, directory registered DEDICATED, image
    AVAILABLE, bundle created), so desktops can be created at once.
    """
    accounts = []
    for name, account_id, prefix in DEMO_CUSTOMERS:
        if account_id in STATE.accounts and STATE.accounts[account_id].registered:
            raise ValueError("the demo world already exists; reset first")
        account = create_customer_account(account_id, name=name)
        network = build_customer_network(account_id, region, name, prefix)
        entry = {
            "name": name,
            "account_id": account_id,
            "role_arn": account["role_arn"],
            "external_id": account["external_id"],
            "admin_access_key_id": account["admin_access_key_id"],
            "admin_secret_access_key": account["admin_secret_access_key"],
            "region": region,
            **network,
        }
        if ready:
            entry.update(make_ready(account_id, region, network))
        accounts.append(entry)
    return {
        "partner_account_id": DEFAULT_ACCOUNT_ID,
        "region": region,
        "created_at": datetime.fromtimestamp(STATE.now(), UTC).isoformat(),
        "ready": ready,
        "accounts": accounts,
    }


def create_fleet_world(count: int, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """`count` more onboarded customer accounts (fleet-001 …, numbered on across calls), each like a demo
    customer: network, directory registered DEDICATED, image, bundle. For benchmarks over many accounts;
    the same shape as the demo world."""
    if not 1 <= count <= 200:
        raise ValueError("count must be 1 to 200")
    accounts = []
    for _ in range(count):
        account_id = _next_account_id()
        number = int(account_id) - 300000000000  # 1, 2, … across calls, so names stay unique
        if number > 200:
            raise ValueError("at most 200 fleet accounts")
        name = f"fleet-{number:03d}"
        account = create_customer_account(account_id, name=name)
        # A /16 of its own per account (10.31.0.0/16 …), apart from the demo customers' 10.10 and 10.20.
        network = build_customer_network(account_id, region, name.replace("-", ""), f"10.{30 + number}")
        accounts.append(
            {
                "name": name,
                "account_id": account_id,
                "role_arn": account["role_arn"],
                "external_id": account["external_id"],
                "admin_access_key_id": account["admin_access_key_id"],
                "admin_secret_access_key": account["admin_secret_access_key"],
                "region": region,
                **network,
                **make_ready(account_id, region, network),
            }
        )
    return {
        "partner_account_id": DEFAULT_ACCOUNT_ID,
        "region": region,
        "created_at": datetime.fromtimestamp(STATE.now(), UTC).isoformat(),
        "ready": True,
        "accounts": accounts,
    }
