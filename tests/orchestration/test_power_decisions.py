"""The idle-stop decision, as pure functions of a policy, what we know of the session, and the time."""

from datetime import UTC, datetime, timedelta

import pytest

from orchestration.aws.connections import ConnectionStatus
from orchestration.services.power import (
    SessionFacts,
    facts_with_aws_status,
    gateway_reports_live,
    idle_stop_reason,
    within_business_hours,
)
from tenants.models import PowerPolicy

NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # a Wednesday, 21:00 in Berlin


def facts(**overrides) -> SessionFacts:
    values = {
        "available_since": NOW - timedelta(hours=3),
        "connection_state": "UNKNOWN",
        "source": "",
        "connection_state_at": None,
        "last_connected_at": None,
        "last_disconnected_at": None,
        "last_heartbeat_at": None,
    }
    values.update(overrides)
    return SessionFacts(**values)


def policy(**fields) -> PowerPolicy:
    return PowerPolicy(name="std", **fields)


def test_disconnected_longer_than_the_policy_allows_is_stopped():
    reason = idle_stop_reason(
        policy(stop_after_disconnect_minutes=30),
        facts(connection_state="DISCONNECTED", last_disconnected_at=NOW - timedelta(minutes=45)),
        NOW,
    )
    assert reason.startswith("disconnected for 45 minutes")


def test_disconnected_for_less_than_the_policy_keeps_running():
    reason = idle_stop_reason(
        policy(stop_after_disconnect_minutes=30),
        facts(connection_state="DISCONNECTED", last_disconnected_at=NOW - timedelta(minutes=29)),
        NOW,
    )
    assert reason == ""


def test_a_reconnect_after_the_disconnect_resets_the_disconnect_clock():
    reason = idle_stop_reason(
        policy(stop_after_disconnect_minutes=30),
        facts(
            connection_state="DISCONNECTED",
            last_disconnected_at=NOW - timedelta(minutes=60),
            last_connected_at=NOW - timedelta(minutes=10),
        ),
        NOW,
    )
    assert reason == ""


def test_no_session_since_start_is_stopped_after_the_limit_but_a_used_desktop_is_not():
    rule = policy(stop_after_no_session_minutes=60)
    assert idle_stop_reason(rule, facts(), NOW).startswith("no session in 180 minutes")
    used = facts(last_connected_at=NOW - timedelta(hours=2), connection_state="DISCONNECTED")
    assert idle_stop_reason(rule, used, NOW) == ""
    young = facts(available_since=NOW - timedelta(minutes=59))
    assert idle_stop_reason(rule, young, NOW) == ""


@pytest.mark.parametrize("source", ["AWS", "GATEWAY"])
def test_a_live_session_is_never_stopped_whatever_the_rules_say(source):
    rule = policy(
        stop_after_disconnect_minutes=1,
        stop_after_no_session_minutes=1,
        schedule={"timezone": "UTC", "windows": [{"days": [0], "start": "08:00", "end": "09:00"}]},
    )
    live = facts(
        connection_state="CONNECTED",
        source=source,
        connection_state_at=NOW - timedelta(minutes=1),
        last_disconnected_at=NOW - timedelta(hours=5),
    )
    assert idle_stop_reason(rule, live, NOW) == ""


def test_a_gateway_connect_that_went_silent_past_the_heartbeat_window_is_not_live(settings):
    settings.SESSION_HEARTBEAT_STALE_SECONDS = 600
    silent = facts(
        connection_state="CONNECTED", source="GATEWAY", connection_state_at=NOW - timedelta(minutes=11)
    )
    assert not gateway_reports_live(silent, NOW)
    heard = facts(
        connection_state="CONNECTED",
        source="GATEWAY",
        connection_state_at=NOW - timedelta(hours=3),
        last_heartbeat_at=NOW - timedelta(minutes=2),
    )
    assert gateway_reports_live(heard, NOW)


def test_business_hours_are_read_in_the_policy_time_zone():
    hours = {
        "timezone": "Europe/Berlin",
        "windows": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
    }
    assert not within_business_hours(hours, NOW)  # 21:00 in Berlin
    assert within_business_hours(hours, NOW.replace(hour=9))  # 10:00 in Berlin
    assert not within_business_hours(hours, datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday
    rule = policy(schedule=hours)
    assert idle_stop_reason(rule, facts(), NOW) == "outside business hours (policy 'std')"
    assert idle_stop_reason(rule, facts(), NOW.replace(hour=9)) == ""


def test_aws_disconnected_status_dates_the_disconnect_at_the_last_known_connection():
    ended = NOW - timedelta(minutes=40)
    merged = facts_with_aws_status(
        facts(),
        ConnectionStatus("ws-123456789", "DISCONNECTED", checked_at=NOW, last_user_connection_at=ended),
    )
    assert merged.last_disconnected_at == ended
    assert merged.last_connected_at == ended
    assert idle_stop_reason(policy(stop_after_disconnect_minutes=30), merged, NOW).startswith(
        "disconnected for 40 minutes"
    )


def test_aws_connected_status_makes_the_desktop_live():
    merged = facts_with_aws_status(
        facts(last_disconnected_at=NOW - timedelta(hours=2)),
        ConnectionStatus("ws-123456789", "CONNECTED", checked_at=NOW, last_user_connection_at=None),
    )
    assert merged.connection_state == "CONNECTED" and merged.last_connected_at == NOW
    assert idle_stop_reason(policy(stop_after_disconnect_minutes=1), merged, NOW) == ""
