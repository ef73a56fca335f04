"""The WorkSpaces operations the simulator serves, one module per resource, composed here.

| module | operations |
|---|---|
| ``account`` | DescribeAccount, DescribeAccountModifications, ListAvailableManagementCidrRanges, ModifyAccount |
| ``directories`` | Register/Deregister/DescribeWorkspaceDirectories, ModifyWorkspaceCreationProperties |
| ``images`` | Import/Create/Copy/Delete/DescribeWorkspaceImages, image permissions |
| ``bundles`` | Create/Update/Delete/DescribeWorkspaceBundles (``catalogue``: Amazon's public bundles) |
| ``workspaces`` | Create/DescribeWorkspaces, Modify*, Migrate, Restore, DescribeWorkspaceSnapshots |
| ``power`` | Start/Stop/Reboot/Rebuild/TerminateWorkspaces |
| ``sessions`` | DescribeWorkspacesConnectionStatus |
| ``tags`` | Create/Delete/DescribeTags |

``policy`` holds the customer's IAM policies (tag-based authorization, the adoption role), ``paging``
the NextToken rules, ``context`` the request context.
"""

from __future__ import annotations

from typing import Any

from simulator.backend import SimWorkSpacesBackend
from simulator.operations import (
    account,
    bundles,
    directories,
    images,
    policy,
    power,
    sessions,
    tags,
    workspaces,
)
from simulator.operations.context import Handler, RequestContext

OPERATIONS: dict[str, Handler] = {
    **workspaces.OPERATIONS,
    **power.OPERATIONS,
    **sessions.OPERATIONS,
    **images.OPERATIONS,
    **bundles.OPERATIONS,
    **account.OPERATIONS,
    **directories.OPERATIONS,
    **tags.OPERATIONS,
}


def dispatch(backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run one (validated) WorkSpaces request; the adoption role's policy is checked before anything."""
    policy.authorize_adoption_role(backend, ctx, params)
    return OPERATIONS[ctx.operation](backend, ctx, params)


__all__ = ["OPERATIONS", "Handler", "RequestContext", "dispatch"]
