"""The action table: what each desktop action is called, where AWS accepts it, and how it is followed."""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE
from orchestration.aws.workspaces import BATCH_ACTION_LIMIT
from orchestration.choices import JobKind
from orchestration.services.errors import RequestInvalid
from tenants.choices import DesktopState

NOT_ELIGIBLE = "NotEligible"
TAG_GUARD_REFUSED = "TagGuardRefused"
# A desktop that has not reached its target state this long after the call is given up on.
ACTION_WAIT_LIMIT = timedelta(hours=6)
ENDED_STATES = frozenset({DesktopState.TERMINATING, DesktopState.TERMINATED})
# States that end an action badly, unless the desktop was already in them when it was asked for.
FAILURE_STATES: frozenset[str] = frozenset(
    {DesktopState.ERROR, DesktopState.SUSPENDED, DesktopState.TERMINATING, DesktopState.TERMINATED}
)
MODIFY_PARAMS = ("compute_type", "root_volume_gib", "user_volume_gib", "running_mode")


class DesktopAction(StrEnum):
    """What can be done to a selection of desktops (the names the admin, command and API use)."""

    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    REBUILD = "rebuild"
    RESTORE = "restore"
    MODIFY = "modify"
    MAINTENANCE_ON = "maintenance-on"
    MAINTENANCE_OFF = "maintenance-off"
    MIGRATE = "migrate"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class ActionSpec:
    """How one action is checked, called and followed.

    `from_states`: where AWS accepts it (None: any live state). `accepted_states`: what a desktop shows
    once AWS took the action: a redelivered item already there is adopted, not called again, and for an
    idempotent action a repeat refused as InvalidResourceState counts as done. `interim_state`: what our
    row says from the accepted call until the poll reads AWS.
    """

    name: str
    kind: str
    operation: str
    verb: str
    from_states: frozenset[str] | None
    done_states: frozenset[str] = frozenset()
    accepted_states: frozenset[str] = frozenset()
    interim_state: str = ""
    per_call: int = 1
    manual_only: bool = False
    idempotent: bool = True
    params: tuple[str, ...] = ()


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


S = DesktopState
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name=DesktopAction.START,
            kind=JobKind.DESKTOP_START,
            operation="StartWorkspaces",
            verb="start",
            from_states=_states(S.STOPPED),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.STARTING, S.AVAILABLE),
            interim_state=S.STARTING,
            per_call=BATCH_ACTION_LIMIT,
            manual_only=True,
        ),
        ActionSpec(
            name=DesktopAction.STOP,
            kind=JobKind.DESKTOP_STOP,
            operation="StopWorkspaces",
            verb="stop",
            from_states=_states(S.AVAILABLE, S.IMPAIRED, S.UNHEALTHY, S.ERROR),
            done_states=_states(S.STOPPED),
            accepted_states=_states(S.STOPPING, S.STOPPED),
            interim_state=S.STOPPING,
            per_call=BATCH_ACTION_LIMIT,
            manual_only=True,
        ),
        ActionSpec(
            name=DesktopAction.REBOOT,
            kind=JobKind.DESKTOP_REBOOT,
            operation="RebootWorkspaces",
            verb="reboot",
            from_states=_states(S.AVAILABLE, S.IMPAIRED, S.UNHEALTHY, S.REBOOTING),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.REBOOTING),
            interim_state=S.REBOOTING,
            per_call=BATCH_ACTION_LIMIT,
        ),
        ActionSpec(
            name=DesktopAction.REBUILD,
            kind=JobKind.DESKTOP_REBUILD,
            operation="RebuildWorkspaces",
            verb="rebuild",
            from_states=_states(S.AVAILABLE, S.ERROR, S.UNHEALTHY, S.STOPPED, S.REBOOTING),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.REBUILDING),
            interim_state=S.REBUILDING,
            idempotent=False,
        ),
        ActionSpec(
            name=DesktopAction.RESTORE,
            kind=JobKind.DESKTOP_RESTORE,
            operation="RestoreWorkspace",
            verb="restore",
            from_states=_states(S.AVAILABLE, S.ERROR, S.UNHEALTHY, S.STOPPED),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.RESTORING),
            interim_state=S.RESTORING,
            idempotent=False,
        ),
        ActionSpec(
            name=DesktopAction.MODIFY,
            kind=JobKind.DESKTOP_MODIFY,
            operation="ModifyWorkspaceProperties",
            verb="modify",
            from_states=_states(S.AVAILABLE, S.STOPPED),
            params=MODIFY_PARAMS,
        ),
        ActionSpec(
            name=DesktopAction.MAINTENANCE_ON,
            kind=JobKind.DESKTOP_MAINTENANCE,
            operation="ModifyWorkspaceState",
            verb="put in admin maintenance",
            from_states=_states(S.AVAILABLE),
            done_states=_states(S.ADMIN_MAINTENANCE),
            accepted_states=_states(S.ADMIN_MAINTENANCE),
            interim_state=S.ADMIN_MAINTENANCE,
        ),
        ActionSpec(
            name=DesktopAction.MAINTENANCE_OFF,
            kind=JobKind.DESKTOP_MAINTENANCE,
            operation="ModifyWorkspaceState",
            verb="take out of admin maintenance",
            from_states=_states(S.ADMIN_MAINTENANCE),
            done_states=_states(S.AVAILABLE),
            accepted_states=_states(S.AVAILABLE),
            interim_state=S.AVAILABLE,
        ),
        ActionSpec(
            name=DesktopAction.MIGRATE,
            kind=JobKind.DESKTOP_MIGRATE,
            operation="MigrateWorkspace",
            verb="migrate",
            from_states=_states(S.AVAILABLE, S.STOPPED),
            done_states=_states(S.AVAILABLE),
            interim_state=S.PENDING,
            idempotent=False,
            params=("bundle_id",),
        ),
        ActionSpec(
            name=DesktopAction.TERMINATE,
            kind=JobKind.DESKTOP_TERMINATE,
            operation="TerminateWorkspaces",
            verb="terminate",
            from_states=None,
            done_states=_states(S.TERMINATED),
            accepted_states=_states(S.TERMINATING, S.TERMINATED),
            interim_state=S.TERMINATING,
            per_call=BATCH_ACTION_LIMIT,
        ),
    )
}


class DesktopActionInvalid(RequestInvalid):
    """A desktop action that cannot be sent to AWS as it stands."""


NOT_OURS = (
    f"It is not tagged {PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it was not made by this control plane, "
    "so it is not ours to change."
)
