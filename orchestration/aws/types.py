"""What the AWS boundary returns: plain dataclasses, never boto3 dicts."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AccountAccess:
    """How to reach one customer account: everything the boundary needs, nothing from the ORM."""

    account_id: str
    region: str
    auth_mode: str  # "ASSUME_ROLE" or "ACCESS_KEYS"
    role_arn: str = ""
    external_id: str = ""
    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    session_name: str = "partner-control-plane"


@dataclass(frozen=True)
class WorkspaceSpec:
    """One desktop to create. `workspace_name` is our deterministic handle for finding it again."""

    directory_id: str
    user_name: str
    bundle_id: str
    workspace_name: str
    running_mode: str
    compute_type: str = ""
    root_volume_gib: int | None = None
    user_volume_gib: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Workspace:
    """A WorkSpace as DescribeWorkspaces (or CreateWorkspaces) reports it."""

    workspace_id: str
    directory_id: str
    user_name: str
    state: str
    bundle_id: str = ""
    workspace_name: str = ""
    computer_name: str = ""
    ip_address: str = ""
    running_mode: str = ""
    compute_type: str = ""
    root_volume_gib: int | None = None
    user_volume_gib: int | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class FailedItem:
    """One entry of a batch call's FailedRequests: which item, and AWS's code and message."""

    key: str
    code: str
    message: str


@dataclass(frozen=True)
class CreateWorkspacesResult:
    """The outcome of one CreateWorkspaces call: made ones by workspace name, failed ones likewise."""

    request_id: str
    created: dict[str, Workspace]
    failed: dict[str, FailedItem]


@dataclass(frozen=True)
class BatchActionResult:
    """The outcome of a Start/Stop/Reboot/Rebuild/Terminate call: ids AWS accepted and those it did not."""

    request_id: str
    succeeded: list[str]
    failed: dict[str, FailedItem]


@dataclass(frozen=True)
class CallerIdentity:
    """Who the session is in AWS (STS GetCallerIdentity)."""

    account_id: str
    arn: str
    user_id: str


@dataclass(frozen=True)
class TemporaryCredentials:
    """Assumed-role credentials and when they stop working."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: datetime
