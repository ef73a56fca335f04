"""User sessions: DescribeWorkspacesConnectionStatus, from the timelines tests script with
:func:`simulator.world.set_connection`.
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.operations.context import Handler, RequestContext
from simulator.operations.paging import page_size, paginate


def describe_workspaces_connection_status(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    if params.get("WorkspaceIds"):
        found = backend.sim_workspaces.by_ids(params["WorkspaceIds"])
    else:
        found = list(backend.sim_workspaces.values())
    page, token = paginate(
        ctx,
        params,
        found,
        key=lambda w: (w.sequence,),
        page_size=page_size(params),
        invalid_token=errors.invalid_parameter,
    )
    return {"WorkspacesConnectionStatus": [w.connection_status(now) for w in page], "NextToken": token}


OPERATIONS: dict[str, Handler] = {
    "DescribeWorkspacesConnectionStatus": describe_workspaces_connection_status,
}
