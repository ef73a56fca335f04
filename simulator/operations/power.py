"""The batch power operations: Start, Stop, Reboot, Rebuild and TerminateWorkspaces. Each answers per
item in FailedRequests; a refused item is not performed and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import AVAILABLE, ERROR, STOPPED, STOPPING, TERMINATED, TERMINATING, Workspace
from simulator.operations import policy
from simulator.operations.context import Handler, RequestContext
from simulator.state import STATE

# States from which AWS accepts each power operation.
START_FROM = {STOPPED}
STOP_FROM = {AVAILABLE, "IMPAIRED", "UNHEALTHY", ERROR}
REBOOT_FROM = {AVAILABLE, "IMPAIRED", "UNHEALTHY", "REBOOTING"}
REBUILD_FROM = {AVAILABLE, ERROR, "UNHEALTHY", STOPPED, "REBOOTING"}


def _failed(workspace_id: str, code: str, message: str) -> dict[str, Any]:
    return {"WorkspaceId": workspace_id, "ErrorCode": code, "ErrorMessage": message}


def _workspace_ids(params: dict[str, Any], member: str) -> list[str]:
    """The WorkspaceIds of a batch; an item without one is a validation error of the whole request.

    The model leaves StartRequest/StopRequest.WorkspaceId optional, but an item without it names nothing,
    and a FailedRequests entry with an empty WorkspaceId would break the model's ``ws-`` pattern.
    """
    missing = [
        f"Value null at '{member[:1].lower()}{member[1:]}.{index}.member.workspaceId' failed to satisfy "
        "constraint: Member must not be null"
        for index, item in enumerate(params[member], start=1)
        if not item.get("WorkspaceId")
    ]
    if missing:
        noun = "error" if len(missing) == 1 else "errors"
        raise errors.validation(f"{len(missing)} validation {noun} detected: {'; '.join(missing)}")
    return [item["WorkspaceId"] for item in params[member]]


def _batch(
    backend: SimWorkSpacesBackend,
    ctx: RequestContext,
    ids: list[str],
    allowed_from: set[str] | None,
    apply: Callable[[Workspace, float], None],
    requirement: str,
    accept: Callable[[Workspace], bool] | None = None,
    manual_only: bool = False,
) -> dict[str, Any]:
    """Shared shape of Start/Stop/Reboot/Rebuild/Terminate: per-item FailedRequests."""
    now = backend.settle()
    for workspace_id in ids:
        if workspace_id in backend.sim_workspaces:
            policy.authorize_resource(
                backend, ctx, "workspace", workspace_id, backend.sim_workspaces[workspace_id].tags
            )
    failed = []
    for workspace_id in ids:
        fault_code = ctx.faults.item_fails()
        if fault_code:
            failed.append(_failed(workspace_id, fault_code, "The request failed; try again."))
            continue
        workspace = backend.sim_workspaces.get(workspace_id)
        if workspace is None:
            failed.append(
                _failed(
                    workspace_id,
                    "ResourceNotFoundException",
                    f"The WorkSpace {workspace_id} could not be found.",
                )
            )
            continue
        if accept is not None and accept(workspace):
            continue
        if manual_only and workspace.properties.get("RunningMode") == "ALWAYS_ON":
            failed.append(
                _failed(
                    workspace_id,
                    "OperationNotSupportedException",
                    "An ALWAYS_ON WorkSpace cannot be started or stopped; use MANUAL.",
                )
            )
            continue
        if allowed_from is not None and (workspace.state not in allowed_from or workspace.in_transition):
            failed.append(
                _failed(
                    workspace_id,
                    "InvalidResourceStateException",
                    f"The WorkSpace is {workspace.state}; {requirement}",
                )
            )
            continue
        apply(workspace, now)
    return {"FailedRequests": failed}


def start_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids = _workspace_ids(params, "StartWorkspaceRequests")
    durations = STATE.durations

    def start(workspace: Workspace, now: float) -> None:
        workspace.begin("STARTING", AVAILABLE, durations.starting, now)

    return _batch(
        backend, ctx, ids, START_FROM, start, "only a STOPPED WorkSpace can be started.", manual_only=True
    )


def stop_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids = _workspace_ids(params, "StopWorkspaceRequests")
    durations = STATE.durations

    def stop(workspace: Workspace, now: float) -> None:
        workspace.end_session(now)
        workspace.begin(STOPPING, STOPPED, durations.stopping, now)

    return _batch(
        backend, ctx, ids, STOP_FROM, stop, "only an AVAILABLE WorkSpace can be stopped.", manual_only=True
    )


def reboot_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids = [item["WorkspaceId"] for item in params["RebootWorkspaceRequests"]]
    durations = STATE.durations

    def reboot(workspace: Workspace, now: float) -> None:
        workspace.end_session(now)
        workspace.begin("REBOOTING", AVAILABLE, durations.rebooting, now)

    return _batch(backend, ctx, ids, REBOOT_FROM, reboot, "a WorkSpace must be AVAILABLE to reboot.")


def rebuild_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids = [item["WorkspaceId"] for item in params["RebuildWorkspaceRequests"]]
    durations = STATE.durations

    def rebuild(workspace: Workspace, now: float) -> None:
        workspace.end_session(now)
        workspace.begin("REBUILDING", AVAILABLE, durations.rebuilding, now)

    return _batch(
        backend, ctx, ids, REBUILD_FROM, rebuild, "it must be AVAILABLE, ERROR, UNHEALTHY or STOPPED."
    )


def terminate_workspaces(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ids = [item["WorkspaceId"] for item in params["TerminateWorkspaceRequests"]]
    durations = STATE.durations

    def terminate(workspace: Workspace, now: float) -> None:
        workspace.end_session(now)
        workspace.begin(TERMINATING, TERMINATED, durations.terminating, now)

    def already_terminating(workspace: Workspace) -> bool:
        # Terminating twice is accepted: a retried terminate must not fail.
        return workspace.state in (TERMINATING, TERMINATED)

    return _batch(backend, ctx, ids, None, terminate, "", accept=already_terminating)


OPERATIONS: dict[str, Handler] = {
    "StartWorkspaces": start_workspaces,
    "StopWorkspaces": stop_workspaces,
    "RebootWorkspaces": reboot_workspaces,
    "RebuildWorkspaces": rebuild_workspaces,
    "TerminateWorkspaces": terminate_workspaces,
}
