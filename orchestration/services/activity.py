"""Session events from the partner's gateway or broker: connect, disconnect, heartbeat.

They feed the idle-timeout sweep (`orchestration.services.power`). Events can arrive late, twice or out
of order (a gateway retries a batch): each is applied only if it is newer than what we hold, so
replaying a batch changes nothing. A batch costs a fixed number of queries, whatever its size.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tenants.choices import ActivitySource, ConnectionState
from tenants.models import Customer, Desktop, DesktopActivity

MAX_EVENTS_PER_BATCH = 500
SESSION_EVENT_KINDS = ("connect", "disconnect", "heartbeat")


@dataclass(frozen=True)
class SessionEvent:
    """One event as the gateway reports it."""

    workspace_id: str
    kind: str
    at: datetime


@dataclass
class SessionEventsResult:
    """How a batch went: applied, ignored as older than what we hold, or naming no desktop of ours."""

    applied: int = 0
    stale: int = 0
    unknown_workspace_ids: list[str] = field(default_factory=list)


def _apply(activity: DesktopActivity, event: SessionEvent) -> bool:
    """Fold one event into the activity row; False when the row already knows something newer."""
    if event.kind == "heartbeat":
        if activity.last_heartbeat_at and event.at <= activity.last_heartbeat_at:
            return False
        activity.last_heartbeat_at = event.at
        activity.last_connected_at = max(filter(None, [activity.last_connected_at, event.at]))
        if activity.connection_state_at is None or event.at >= activity.connection_state_at:
            activity.connection_state = ConnectionState.CONNECTED
            activity.connection_state_at = event.at
            activity.source = ActivitySource.GATEWAY
        return True
    if activity.connection_state_at and event.at < activity.connection_state_at:
        return False
    if event.kind == "connect":
        activity.connection_state = ConnectionState.CONNECTED
        activity.last_connected_at = max(filter(None, [activity.last_connected_at, event.at]))
    else:
        activity.connection_state = ConnectionState.DISCONNECTED
        activity.last_disconnected_at = max(filter(None, [activity.last_disconnected_at, event.at]))
    activity.connection_state_at = event.at
    activity.source = ActivitySource.GATEWAY
    return True


def session_events_record(*, customer: Customer, events: list[SessionEvent]) -> SessionEventsResult:
    """Apply a batch of the customer's session events; ids of other customers count as unknown (S1)."""
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise ValueError(f"A batch holds at most {MAX_EVENTS_PER_BATCH} events.")
    result = SessionEventsResult()
    wanted = {event.workspace_id for event in events}
    with transaction.atomic():
        desktops = {
            d.workspace_id: d
            for d in Desktop.objects.filter(aws_account__customer=customer, workspace_id__in=wanted)
        }
        result.unknown_workspace_ids = sorted(wanted - set(desktops))
        rows = {
            a.desktop_id: a
            for a in DesktopActivity.objects.select_for_update().filter(
                desktop_id__in=[d.pk for d in desktops.values()]
            )
        }
        touched: dict[int, DesktopActivity] = {}
        for event in sorted(events, key=lambda e: e.at):
            desktop = desktops.get(event.workspace_id)
            if desktop is None:
                continue
            activity = rows.setdefault(desktop.pk, DesktopActivity(desktop=desktop))
            if _apply(activity, event):
                result.applied += 1
                touched[desktop.pk] = activity
            else:
                result.stale += 1
        now = timezone.now()
        for activity in touched.values():
            activity.updated_at = now
        DesktopActivity.objects.bulk_create(
            list(touched.values()),
            update_conflicts=True,
            unique_fields=["desktop"],
            update_fields=[
                "connection_state",
                "connection_state_at",
                "last_connected_at",
                "last_disconnected_at",
                "last_heartbeat_at",
                "source",
                "updated_at",
            ],
        )
    return result
