"""Sessions and clients: one assumed role per account, cached, refreshed before expiry, configured once."""

from dataclasses import replace
from datetime import timedelta

import pytest

from orchestration.aws import sessions
from orchestration.aws.identity import caller_identity
from orchestration.aws.sessions import (
    ROLE_SESSION_NAME_MAX,
    account_client,
    account_session,
    client_config,
    forget_account_session,
    role_session_name,
)
from orchestration.aws.types import AccountAccess


def test_a_role_session_name_keeps_sts_alphabet_and_length():
    assert role_session_name("acme", "job 42", "", "ops/admin") == "acme-job_42-ops_admin"
    assert role_session_name("é" * 100) == "_" * ROLE_SESSION_NAME_MAX
    assert role_session_name() == "partner"
    assert role_session_name("a+b=c,d.e@f-g_h") == "a+b=c,d.e@f-g_h"


def test_client_config_is_botocore_standard_mode_with_our_timeouts(settings):
    settings.AWS_MAX_ATTEMPTS, settings.AWS_CONNECT_TIMEOUT, settings.AWS_READ_TIMEOUT = 4, 5.0, 30.0
    reads = client_config(retries=True)
    creates = client_config(retries=False)
    assert reads.retries == {"mode": "standard", "total_max_attempts": 4}
    assert creates.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (reads.connect_timeout, reads.read_timeout) == (5.0, 30.0)


@pytest.mark.slow
def test_the_role_is_assumed_once_per_account_and_reused_by_every_call(simulator, access, acme):
    simulator.clear_calls()
    for _ in range(3):
        identity = caller_identity(access)
    assert identity.account_id == acme["account_id"]
    assert acme["role_arn"].split("/")[-1] in identity.arn
    counts = simulator.call_counts()
    assert (counts.get("sts:AssumeRole"), counts.get("sts:GetCallerIdentity")) == (1, 3)
    [assumed] = [c["request"] for c in simulator.calls("sts:AssumeRole")]
    assert assumed["ExternalId"] == acme["external_id"]
    assert assumed["RoleSessionName"] == "aws-boundary-tests"


@pytest.mark.slow
def test_clients_are_cached_per_service_and_retry_mode(access):
    first = account_client(access, "workspaces")
    assert account_client(access, "workspaces") is first
    assert account_client(access, "workspaces", retries=False) is not first
    assert account_client(access, "sts") is not first
    assert account_session(access) is account_session(access)


@pytest.mark.slow
def test_another_region_or_role_session_gets_its_own_session(access):
    session = account_session(access)
    assert account_session(replace(access, region="eu-west-1")) is not session
    assert account_session(replace(access, session_name="job-7")) is not session
    assert account_session(replace(access, region="eu-west-1")).region_name == "eu-west-1"


@pytest.mark.slow
def test_forgetting_one_account_drops_its_session_and_clients_and_nothing_else(simulator, access, acme):
    other = replace(access, region="eu-west-1")
    client, other_client = account_client(access, "workspaces"), account_client(other, "workspaces")
    forget_account_session(access)
    simulator.clear_calls()
    assert account_client(access, "workspaces") is not client
    assert account_client(other, "workspaces") is other_client
    caller_identity(access)
    assert simulator.call_counts().get("sts:AssumeRole") == 1  # the forgotten one assumed anew, once


@pytest.mark.slow
def test_a_worker_keeps_only_the_most_recently_used_role_sessions_and_their_clients(access, monkeypatch):
    monkeypatch.setattr(sessions, "SESSIONS_KEPT", 2)
    job = [replace(access, session_name=f"job{n}") for n in range(3)]
    first, second = account_session(job[0]), account_session(job[1])
    client = account_client(job[1], "workspaces")
    assert account_session(job[0]) is first  # used again: now the most recent
    account_session(job[2])  # one too many: the least recently used (job1) goes, with its client
    assert account_session(job[0]) is first
    assert account_session(job[1]) is not second
    assert account_client(job[1], "workspaces") is not client


@pytest.mark.slow
def test_refresh_margins_scale_with_the_credentials_lifetime(simulator, access, settings):
    settings.AWS_ASSUME_ROLE_DURATION_SECONDS = 900
    credentials = sessions._refreshable_role_credentials(access)
    assert (credentials._advisory_refresh_timeout, credentials._mandatory_refresh_timeout) == (225, 150)
    settings.AWS_ASSUME_ROLE_DURATION_SECONDS = 3600
    credentials = sessions._refreshable_role_credentials(access)
    assert (credentials._advisory_refresh_timeout, credentials._mandatory_refresh_timeout) == (900, 600)
    [first, second] = [c["request"] for c in simulator.calls("sts:AssumeRole")][-2:]
    assert (first["DurationSeconds"], second["DurationSeconds"]) == ("900", "3600")


@pytest.mark.parametrize(("seconds_left", "assumed_again"), [(300, 0), (200, 1), (100, 1)])
@pytest.mark.slow
def test_credentials_are_renewed_inside_the_scaled_margins_and_not_before(
    simulator, access, settings, seconds_left, assumed_again
):
    """A 900 s session is renewed in its last 225 s: botocore's fixed 15 minutes would renew it always."""
    settings.AWS_ASSUME_ROLE_DURATION_SECONDS = 900
    caller_identity(access)
    credentials = account_session(access).get_credentials()
    first_key = credentials.get_frozen_credentials().access_key
    expiry = credentials._expiry_time
    credentials._time_fetcher = lambda: expiry - timedelta(seconds=seconds_left)  # botocore's clock, moved on
    simulator.clear_calls()
    caller_identity(access)
    assert simulator.call_counts().get("sts:AssumeRole", 0) == assumed_again
    assert (credentials.get_frozen_credentials().access_key != first_key) is bool(assumed_again)
    assert [c for c in simulator.calls() if c.get("error_code")] == []


def test_access_keys_connections_use_the_customers_keys_and_assume_nothing(simulator, acme):
    keys = AccountAccess(
        account_id=acme["account_id"],
        region=acme["region"],
        auth_mode="ACCESS_KEYS",
        access_key_id=acme["admin_access_key_id"],
        secret_access_key=acme["admin_secret_access_key"],
    )
    simulator.clear_calls()
    assert caller_identity(keys).account_id == acme["account_id"]
    assert simulator.call_counts().get("sts:AssumeRole", 0) == 0
    assert acme["admin_secret_access_key"] not in repr(keys)


@pytest.mark.parametrize("auth_mode", ["ASSUME_ROLE", "ACCESS_KEYS"])
@pytest.mark.slow
def test_a_session_works_in_the_region_it_was_made_for(simulator, acme, auth_mode):
    access = AccountAccess(
        account_id=acme["account_id"],
        region=acme["region"],
        auth_mode=auth_mode,
        role_arn=acme["role_arn"],
        external_id=acme["external_id"],
        access_key_id=acme["admin_access_key_id"],
        secret_access_key=acme["admin_secret_access_key"],
    )
    assert account_client(access, "workspaces").meta.region_name == acme["region"]
