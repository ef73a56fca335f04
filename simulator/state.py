"""The simulator's own state beside moto's backends: clock, durations, accounts, credentials,
faults and recorded calls. One instance per process (moto's backends are process-global too).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from simulator.clock import SimClock
from simulator.faults import AccountRateLimit, CallRecorder, FaultPlan, FaultRule

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
PARTNER_ROLE_NAME = "WorkSpacesCorePartnerRole"
ADOPTION_ROLE_NAME = "PartnerAdoptionRole"
TAG_KEY = "PartnerManaged"


@dataclass
class Durations:
    """Simulated seconds each asynchronous step takes (AWS-like defaults; tests shorten or jump)."""

    provisioning: float = 1200.0  # PENDING -> AVAILABLE
    starting: float = 90.0
    stopping: float = 60.0
    rebooting: float = 120.0
    rebuilding: float = 1800.0
    restoring: float = 900.0
    terminating: float = 300.0
    terminated_visible: float = 3600.0  # TERMINATED WorkSpaces drop out of Describe after this
    modifying: float = 600.0  # ModificationStates UPDATE_IN_PROGRESS after a compute/volume change
    image_import: float = 2700.0
    image_create: float = 1800.0
    image_copy: float = 1200.0
    account_modification: float = 600.0  # ModifyAccount PENDING -> COMPLETED
    directory_registration: float = 0.0  # REGISTERING -> REGISTERED
    manual_idle_stop: float = 48 * 3600.0  # MANUAL WorkSpaces left AVAILABLE this long are stopped
    snapshot_interval: float = 12 * 3600.0

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown durations: {sorted(unknown)}")
        for name, value in values.items():
            if float(value) < 0:
                raise ValueError(f"{name} must be >= 0")
            setattr(self, name, float(value))


@dataclass
class AccountSettings:
    """A simulated customer account: its partner role, External ID and WorkSpaces switches."""

    account_id: str
    name: str = ""
    role_name: str = PARTNER_ROLE_NAME
    external_id: str = ""
    max_session_duration: int = 3600
    byop_enabled: bool = True  # "Enable AWS account for Bring Your Own Protocol" (AWS account team)
    byol_eligible: bool = True  # the customer enabled BYOL, so ModifyAccount may succeed
    modify_account_outcome: str = "COMPLETED"  # or FAILED, to simulate a failed BYOL setup
    tag_enforcement: bool = False  # the seed's tag-based authorization policy on the partner role
    tag_policy_strict_keys: bool = False  # also deny request tags other than PartnerManaged (aws:TagKeys)
    workspace_quota: int = 100_000
    # AWS documents no unique WorkspaceName; a test may switch this on to refuse a second live one.
    unique_workspace_names: bool = False
    admin_access_key_id: str = ""
    admin_secret_access_key: str = ""
    registered: bool = True
    # The customer's temporary adoption/release stack: a second role allowed only to tag/untag PartnerManaged.
    adoption_stack: bool = False
    adoption_role_name: str = ADOPTION_ROLE_NAME

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    @property
    def adoption_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.adoption_role_name}"

    def assumable_role_arns(self) -> set[str]:
        """The roles of this account the partner may assume (with the account's External ID)."""
        return {self.role_arn, self.adoption_role_arn} if self.adoption_stack else {self.role_arn}

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "role_arn": self.role_arn, "adoption_role_arn": self.adoption_role_arn}

    def update(self, values: dict[str, Any]) -> None:
        # The adoption stack creates and deletes an IAM role: world.set_adoption_stack does that.
        settable = {f.name for f in fields(self)} - {"account_id", "registered", "adoption_stack"}
        unknown = set(values) - settable
        if unknown:
            raise ValueError(f"unknown account settings: {sorted(unknown)}")
        for name, value in values.items():
            setattr(self, name, value)


@dataclass
class IssuedCredential:
    """Assumed-role credentials handed out by the STS wrapper, with their simulated expiry."""

    access_key_id: str
    account_id: str
    role_arn: str
    session_name: str
    expires_at: float

    def describe(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StartupOptions:
    """What ``reset`` restores: the server's command-line settings."""

    time_scale: float = 1.0
    seed: int = 0
    latency_ms: float = 0.0
    demo_world: bool = False
    demo_ready: bool = False
    recorded_calls: int = 2000
    durations: dict[str, float] = field(default_factory=dict)


class SimulatorState:
    """Everything the simulator adds to moto, behind one re-entrant lock."""

    def __init__(self, options: StartupOptions | None = None) -> None:
        self.lock = threading.RLock()
        self.options = options or StartupOptions()
        self._initialise()

    def _initialise(self) -> None:
        self.clock = SimClock(time_scale=self.options.time_scale)
        self.durations = Durations()
        self.durations.update(self.options.durations)
        self.accounts: dict[str, AccountSettings] = {}
        self.credentials: dict[str, IssuedCredential] = {}
        self.faults = FaultPlan(seed=self.options.seed, default=FaultRule(latency_ms=self.options.latency_ms))
        self.recorder = CallRecorder(keep=self.options.recorded_calls)
        self.rate_limit = AccountRateLimit()
        self.seed = self.options.seed
        # Signs NextTokens, so a token cannot be edited or carried to another account; a reset voids them.
        self.token_secret = secrets.token_bytes(32)

    def reset(self, seed: int | None = None, time_scale: float | None = None) -> None:
        with self.lock:
            if seed is not None:
                self.options.seed = int(seed)
            if time_scale is not None:
                self.options.time_scale = float(time_scale)
            self._initialise()

    def now(self) -> float:
        return self.clock.now_ts()

    def account(self, account_id: str) -> AccountSettings:
        """Settings of a registered account, or permissive defaults for any other account id."""
        found = self.accounts.get(account_id)
        if found is None:
            found = AccountSettings(account_id=account_id, registered=False)
            self.accounts[account_id] = found
        return found

    def default_external_id(self, account_id: str) -> str:
        digest = hashlib.sha256(f"{self.seed}|{account_id}|external-id".encode()).hexdigest()
        return f"ext-{digest[:24]}"


STATE = SimulatorState()
