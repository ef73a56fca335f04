"""Who is connected to which desktop, as AWS sees it (DescribeWorkspacesConnectionStatus)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .calls import aws_call, chunked
from .types import AccountAccess

CONNECTION_STATUS_IDS_LIMIT = 25


@dataclass(frozen=True)
class ConnectionStatus:
    """One WorkSpace's session state: CONNECTED, DISCONNECTED or UNKNOWN (not AVAILABLE)."""

    workspace_id: str
    state: str
    checked_at: datetime | None
    last_user_connection_at: datetime | None


def workspaces_connection_status(
    access: AccountAccess, workspace_ids: Sequence[str]
) -> list[ConnectionStatus]:
    """Connection status of these WorkSpaces, 25 ids a call."""
    found: list[ConnectionStatus] = []
    for chunk in chunked(list(workspace_ids), CONNECTION_STATUS_IDS_LIMIT):
        response = aws_call(access, "workspaces", "describe_workspaces_connection_status", WorkspaceIds=chunk)
        found.extend(
            ConnectionStatus(
                workspace_id=entry.get("WorkspaceId", ""),
                state=entry.get("ConnectionState", "UNKNOWN"),
                checked_at=entry.get("ConnectionStateCheckTimestamp"),
                last_user_connection_at=entry.get("LastKnownUserConnectionTimestamp"),
            )
            for entry in response.get("WorkspacesConnectionStatus", [])
        )
    return found
