"""Sessions and clients: the partner's own identity, and per customer account an assumed role.

Assumed-role credentials refresh themselves before they expire (botocore's RefreshableCredentials) and
are cached per (account, region, role session) in each worker process.
"""

import threading

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from django.conf import settings

from . import ratelimit
from .errors import THROTTLED_CODES
from .types import AccountAccess, TemporaryCredentials

ROLE_SESSION_NAME_MAX = 64
_cache_lock = threading.Lock()
_sessions: dict[tuple, boto3.Session] = {}
_clients: dict[tuple, object] = {}
# Each job has a role session of its own (its name, for CloudTrail): a worker keeps the most recently used
# ones only, so one running for weeks does not hold a session and its clients for every job it ever ran.
SESSIONS_KEPT = 64
# One loader of AWS's service models for every session of the process: a job's first client then costs
# milliseconds, not the hundreds a fresh session spends finding and parsing the model files again.
_loader = botocore.loaders.create_loader()


def _botocore_session() -> botocore.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader)
    return core


def _boto3_session(core: botocore.session.Session, region: str) -> boto3.Session:
    session = boto3.Session(botocore_session=core, region_name=region)
    # boto3 adds its own model directory to the (shared) loader's search path once per session: keep one.
    _loader.search_paths[:] = list(dict.fromkeys(_loader.search_paths))
    return session


# The services a worker's deliveries call: their models are read before the worker forks its processes.
PRELOADED_SERVICES = ("workspaces", "sts")


def aws_models_preload() -> None:
    """Read the called services' models and endpoint data into the shared loader, once, in the worker's
    parent process: its processes inherit them, so a job's first call no longer waits for the files.
    The clients made here are thrown away (no credentials of anyone's, no call is made)."""
    session = _boto3_session(_botocore_session(), "us-east-1")
    for service in PRELOADED_SERVICES:
        session.client(
            service,
            aws_access_key_id="preload",
            aws_secret_access_key="preload",  # noqa: S106 - not a credential: no call is made
            config=client_config(retries=True),
        )


def client_config(*, retries: bool) -> Config:
    """Standard retry mode with explicit timeouts; non-idempotent calls get one attempt (we decide)."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": settings.AWS_MAX_ATTEMPTS if retries else 1},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
        max_pool_connections=20,
    )


def partner_session(region: str) -> boto3.Session:
    """The partner's own credentials, from the environment (or an instance role in production)."""
    return _boto3_session(_botocore_session(), region)


def role_session_name(*parts: str) -> str:
    """A RoleSessionName from readable parts, within STS's alphabet and 64-character limit."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
    name = "-".join(part for part in parts if part)
    return "".join(ch if ch in allowed else "_" for ch in name)[:ROLE_SESSION_NAME_MAX] or "partner"


def assume_role(access: AccountAccess) -> TemporaryCredentials:
    """Assume the customer's role with our External ID (STS refuses a wrong one: confused deputy)."""
    sts = partner_session(access.region).client("sts", config=client_config(retries=True))
    response = sts.assume_role(
        RoleArn=access.role_arn,
        RoleSessionName=access.session_name,
        ExternalId=access.external_id,
        DurationSeconds=settings.AWS_ASSUME_ROLE_DURATION_SECONDS,
    )
    credentials = response["Credentials"]
    return TemporaryCredentials(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
        expires_at=credentials["Expiration"],
    )


def _refreshable_role_credentials(access: AccountAccess) -> RefreshableCredentials:
    def fetch() -> dict[str, str]:
        credentials = assume_role(access)
        return {
            "access_key": credentials.access_key_id,
            "secret_key": credentials.secret_access_key,
            "token": credentials.session_token,
            "expiry_time": credentials.expires_at.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    # botocore's 15/10-minute refresh margins assume 1-hour credentials; scale them to ours.
    lifetime = settings.AWS_ASSUME_ROLE_DURATION_SECONDS
    credentials._advisory_refresh_timeout = min(15 * 60, lifetime // 4)
    credentials._mandatory_refresh_timeout = min(10 * 60, lifetime // 6)
    return credentials


def _session_key(access: AccountAccess) -> tuple:
    return (
        access.account_id,
        access.region,
        access.auth_mode,
        access.role_arn,
        access.external_id,
        access.access_key_id,
        access.session_name,
    )


def account_session(access: AccountAccess) -> boto3.Session:
    """A session inside the customer's account, cached per account, region and role session."""
    key = _session_key(access)
    with _cache_lock:
        session = _sessions.pop(key, None)
        if session is not None:
            _sessions[key] = session  # the most recently used last
            return session
    core = _botocore_session()
    if access.auth_mode == "ACCESS_KEYS":
        core.set_credentials(access.access_key_id, access.secret_access_key)
    else:
        core._credentials = _refreshable_role_credentials(access)
    core.set_config_variable("region", access.region)
    session = _boto3_session(core, access.region)
    with _cache_lock:
        session = _sessions.setdefault(key, session)
        while len(_sessions) > SESSIONS_KEPT:
            _forget(next(iter(_sessions)))
        return session


def account_client(access: AccountAccess, service: str, *, retries: bool = True):
    """A client for one service in the customer's account; cached like its session."""
    key = (*_session_key(access), service, retries)
    with _cache_lock:
        client = _clients.get(key)
    if client is None:
        client = account_session(access).client(service, config=client_config(retries=retries))
        # Every request sent takes a token of the account's bucket, botocore's own retries included:
        # a throttled read retried around the limiter would throttle the account again.
        client.meta.events.register("before-send", _rate_limited(access.account_id, access.region))
        client.meta.events.register("needs-retry", _note_throttled)
        with _cache_lock:
            client = _clients.setdefault(key, client)
    return client


def _rate_limited(account_id: str, region: str):
    def take_token(**_) -> None:
        ratelimit.acquire(account_id, region)
        return None  # a before-send handler's answer would stand in for AWS's

    return take_token


def _note_throttled(response=None, **_) -> None:
    """Each answer AWS refused as throttled executed nothing: the limiter's budget counts it as unsent (a
    create throttled and then paused made nothing to look for)."""
    if response is not None and response[1].get("Error", {}).get("Code") in THROTTLED_CODES:
        ratelimit.note_refused()
    return None  # a needs-retry handler's answer would decide botocore's retry


def forget_account_session(access: AccountAccess) -> None:
    """Drop a cached session (its credentials were refused as expired), so the next call assumes anew."""
    with _cache_lock:
        _forget(_session_key(access))


def _forget(key: tuple) -> None:
    """Drop one session and its clients (the caller holds the lock)."""
    _sessions.pop(key, None)
    for client_key in [k for k in _clients if k[: len(key)] == key]:
        _clients.pop(client_key, None)


def forget_all_sessions() -> None:
    """Empty the caches (tests, and after a fork)."""
    with _cache_lock:
        _sessions.clear()
        _clients.clear()
