"""Simulated WorkSpaces resources. Their state is computed lazily from the simulated clock."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simulator.state import Durations

AVAILABLE = "AVAILABLE"
PENDING = "PENDING"
STOPPED = "STOPPED"
STOPPING = "STOPPING"
TERMINATED = "TERMINATED"
TERMINATING = "TERMINATING"
ERROR = "ERROR"
ADMIN_MAINTENANCE = "ADMIN_MAINTENANCE"
UNDEFINED_USER = "[UNDEFINED]"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def tag_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


@dataclass
class Workspace:
    """A WorkSpace and its state machine (transitions end at ``transition_ends_at``)."""

    workspace_id: str
    directory_id: str
    user_name: str
    bundle_id: str
    workspace_name: str | None
    subnet_id: str | None
    ip_address: str
    computer_name: str
    properties: dict[str, Any]
    tags: dict[str, str]
    created_at: float
    volume_encryption_key: str | None = None
    user_volume_encryption_enabled: bool | None = None
    root_volume_encryption_enabled: bool | None = None
    state: str = PENDING
    state_since: float = 0.0
    target_state: str | None = None
    transition_ends_at: float | None = None
    first_available_at: float | None = None
    idle_since: float | None = None  # when a MANUAL WorkSpace's 48 h AVAILABLE timer started
    auto_stopped_at: float | None = None
    modifications: list[str] = field(default_factory=list)
    modification_ends_at: float | None = None
    connection_events: list[tuple[float, str]] = field(default_factory=list)
    sequence: int = 0  # creation order in its account and Region: what a NextToken points after

    @property
    def in_transition(self) -> bool:
        return self.transition_ends_at is not None

    def begin(self, state: str, target: str, duration: float, at: float) -> None:
        self.state = state
        self.state_since = at
        self.target_state = target
        self.transition_ends_at = at + duration

    def set_state(self, state: str, at: float) -> None:
        self.state = state
        self.state_since = at
        self.target_state = None
        self.transition_ends_at = None
        if state == AVAILABLE:
            self.idle_since = at

    def settle(self, now: float, durations: Durations) -> None:
        """Apply every transition that has completed by ``now``, in order."""
        while True:
            if self.transition_ends_at is not None and now >= self.transition_ends_at:
                at = self.transition_ends_at
                self.set_state(self.target_state or AVAILABLE, at)
                if self.state == AVAILABLE and self.first_available_at is None:
                    self.first_available_at = at
                if self.state in (STOPPED, TERMINATED):
                    self.end_session(at)
                continue
            manual = self.properties.get("RunningMode") == "MANUAL"
            if self.state == AVAILABLE and manual and self.idle_since is not None:
                stop_at = self.idle_since + durations.manual_idle_stop
                if now >= stop_at:
                    self.auto_stopped_at = stop_at
                    self.end_session(stop_at)
                    self.begin(STOPPING, STOPPED, durations.stopping, stop_at)
                    continue
            break
        if self.modification_ends_at is not None and now >= self.modification_ends_at:
            self.modifications = []
            self.modification_ends_at = None

    def next_change_at(self, durations: Durations) -> float:
        """The earliest simulated time at which `settle` or `is_gone` would change anything (inf: never by
        itself); the backend settles a WorkSpace only then, or after an operation touched it."""
        due = [math.inf]
        if self.transition_ends_at is not None:
            due.append(self.transition_ends_at)
        if (
            self.state == AVAILABLE
            and self.properties.get("RunningMode") == "MANUAL"
            and self.idle_since is not None
        ):
            due.append(self.idle_since + durations.manual_idle_stop)
        if self.modification_ends_at is not None:
            due.append(self.modification_ends_at)
        if self.state == TERMINATED:
            due.append(self.state_since + durations.terminated_visible)
        return min(due)

    def is_gone(self, now: float, durations: Durations) -> bool:
        return self.state == TERMINATED and now >= self.state_since + durations.terminated_visible

    def end_session(self, at: float) -> None:
        if self.connection_state_at(at) == "CONNECTED":
            self.connection_events.append((at, "DISCONNECTED"))
            self.connection_events.sort(key=lambda event: event[0])

    def connection_state_at(self, at: float) -> str | None:
        state = None
        for when, value in self.connection_events:
            if when <= at:
                state = value
        return state

    def connection_status(self, now: float) -> dict[str, Any]:
        connected_since = None
        last_known = None
        for when, value in self.connection_events:
            if when > now:
                break
            if value == "CONNECTED":
                connected_since = when
                last_known = when
            elif connected_since is not None:
                last_known = when
                connected_since = None
        if connected_since is not None:
            last_known = now
        if self.state == AVAILABLE:
            state = self.connection_state_at(now) or "DISCONNECTED"
            checked = now
        else:
            state = "UNKNOWN"
            checked = self.state_since
        return {
            "WorkspaceId": self.workspace_id,
            "ConnectionState": state,
            "ConnectionStateCheckTimestamp": checked,
            "LastKnownUserConnectionTimestamp": last_known,
        }

    def to_dict(self) -> dict[str, Any]:
        provisioned = self.first_available_at is not None
        return {
            "WorkspaceId": self.workspace_id,
            "DirectoryId": self.directory_id,
            "UserName": self.user_name,
            "IpAddress": self.ip_address if provisioned else None,
            "State": self.state,
            "BundleId": self.bundle_id,
            "SubnetId": self.subnet_id if provisioned else None,
            "ComputerName": self.computer_name if provisioned else None,
            "VolumeEncryptionKey": self.volume_encryption_key,
            "UserVolumeEncryptionEnabled": self.user_volume_encryption_enabled,
            "RootVolumeEncryptionEnabled": self.root_volume_encryption_enabled,
            "WorkspaceName": self.workspace_name,
            "WorkspaceProperties": dict(self.properties),
            "ModificationStates": [
                {"Resource": resource, "State": "UPDATE_IN_PROGRESS"} for resource in self.modifications
            ]
            or None,
        }


@dataclass
class WorkspaceImage:
    """An imported, created or copied WorkSpaces image; PENDING until ``ready_at``."""

    image_id: str
    name: str
    description: str | None
    owner_account_id: str
    region: str
    created_at: float
    ready_at: float
    required_tenancy: str
    os_type: str = "WINDOWS"
    origin: str = ""  # ami-..., ws-... or the copied wsi-...
    ingestion_process: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    shared_with: list[str] = field(default_factory=list)
    failure: tuple[str, str, list[dict[str, str]]] | None = None  # code, message, details
    state: str = PENDING
    sequence: int = 0

    def settle(self, now: float) -> None:
        if self.state == PENDING and now >= self.ready_at:
            self.state = ERROR if self.failure else AVAILABLE

    def to_dict(self) -> dict[str, Any]:
        failure = self.failure if self.state == ERROR else None
        return {
            "ImageId": self.image_id,
            "Name": self.name,
            "Description": self.description,
            "OperatingSystem": {"Type": self.os_type},
            "State": self.state,
            "RequiredTenancy": self.required_tenancy,
            "Created": self.created_at,
            "OwnerAccountId": self.owner_account_id,
            "ErrorCode": failure[0] if failure is not None else None,
            "ErrorMessage": failure[1] if failure is not None else None,
            "ErrorDetails": failure[2] if failure is not None else None,
        }


@dataclass
class Bundle:
    """A WorkSpaces bundle: image + compute + storage."""

    bundle_id: str
    name: str
    description: str
    owner: str
    image_id: str
    compute: str
    root_capacity: str
    user_capacity: str
    created_at: float
    updated_at: float
    tags: dict[str, str] = field(default_factory=dict)
    sequence: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "BundleId": self.bundle_id,
            "Name": self.name,
            "Owner": self.owner,
            "Description": self.description,
            "ImageId": self.image_id,
            "RootStorage": {"Capacity": self.root_capacity},
            "UserStorage": {"Capacity": self.user_capacity},
            "ComputeType": {"Name": self.compute},
            "LastUpdatedTime": self.updated_at,
            "CreationTime": self.created_at,
            "State": AVAILABLE,
            "BundleType": "REGULAR",
        }


def default_access_properties() -> dict[str, str]:
    """Which client devices a newly registered directory lets in: web, Linux and thin clients start denied."""
    allowed = ("Windows", "Osx", "Ios", "Android", "ChromeOs", "ZeroClient")
    denied = ("Web", "Linux", "WorkSpacesThinClient")
    return {
        **{f"DeviceType{device}": "ALLOW" for device in allowed},
        **{f"DeviceType{device}": "DENY" for device in denied},
    }


@dataclass
class RegisteredDirectory:
    """A Directory Service directory registered with WorkSpaces."""

    directory_id: str
    alias: str
    name: str
    directory_type: str
    registration_code: str
    subnet_ids: list[str]
    dns_ip_addresses: list[str]
    security_group_id: str
    vpc_id: str
    tenancy: str
    registered_at: float
    ready_at: float
    iam_role_arn: str
    enable_self_service: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    creation_properties: dict[str, Any] = field(default_factory=dict)
    access_properties: dict[str, str] = field(default_factory=default_access_properties)
    sequence: int = 0

    def state(self, now: float) -> str:
        return "REGISTERED" if now >= self.ready_at else "REGISTERING"

    def to_dict(self, now: float) -> dict[str, Any]:
        mode = "ENABLED" if self.enable_self_service else "DISABLED"
        return {
            "DirectoryId": self.directory_id,
            "Alias": self.alias,
            "DirectoryName": self.name,
            "RegistrationCode": self.registration_code,
            "SubnetIds": list(self.subnet_ids),
            "DnsIpAddresses": list(self.dns_ip_addresses),
            "CustomerUserName": "Administrator",
            "IamRoleId": self.iam_role_arn,
            "DirectoryType": self.directory_type,
            "WorkspaceSecurityGroupId": self.security_group_id,
            "State": self.state(now),
            "WorkspaceCreationProperties": dict(self.creation_properties),
            "Tenancy": self.tenancy,
            "SelfservicePermissions": {
                "RestartWorkspace": "ENABLED",
                "IncreaseVolumeSize": mode,
                "ChangeComputeType": mode,
                "SwitchRunningMode": mode,
                "RebuildWorkspace": mode,
            },
            "WorkspaceAccessProperties": dict(self.access_properties),
            # SAML 2.0 and certificate-based authentication are off until the customer sets them up.
            "SamlProperties": {"Status": "DISABLED", "RelayStateParameterName": "RelayState"},
            "CertificateBasedAuthProperties": {"Status": "DISABLED"},
        }


@dataclass
class AccountModification:
    """One ModifyAccount call (BYOL dedicated tenancy with its management CIDR)."""

    cidr: str
    started_at: float
    completes_at: float
    outcome: str  # COMPLETED or FAILED once done

    def state(self, now: float) -> str:
        return self.outcome if now >= self.completes_at else "PENDING"

    def to_dict(self, now: float) -> dict[str, Any]:
        state = self.state(now)
        failed = state == "FAILED"
        return {
            "ModificationState": state,
            "DedicatedTenancySupport": "ENABLED",
            "DedicatedTenancyManagementCidrRange": self.cidr,
            "StartTime": self.started_at,
            "ErrorCode": "InternalFailure" if failed else None,
            "ErrorMessage": "The BYOL account modification failed; try again." if failed else None,
        }
