"""The AWS boundary's own tests: real wire format against the simulator, real Redis for the limiter."""

from collections.abc import Iterator
from typing import Any

import pytest

from orchestration.aws.sessions import forget_all_sessions
from orchestration.aws.types import AccountAccess


@pytest.fixture(autouse=True)
def fresh_sessions(settings) -> Iterator[None]:
    """No session or client cached by an earlier test (the simulator is reset between tests); no limiter
    and near-zero backoff unless a test asks for them, so retries cost requests, not seconds."""
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.AWS_BACKOFF_BASE = 0.001
    settings.AWS_BACKOFF_MAX = 0.002
    forget_all_sessions()
    yield
    forget_all_sessions()


@pytest.fixture
def acme(demo_world_ready: dict[str, Any]) -> dict[str, Any]:
    """The demo world's first customer account, onboarded (directory, image and bundle ready)."""
    return demo_world_ready["accounts"][0]


@pytest.fixture
def access(acme: dict[str, Any]) -> AccountAccess:
    """How the control plane reaches acme: our role there, with the External ID the account trusts."""
    return AccountAccess(
        account_id=acme["account_id"],
        region=acme["region"],
        auth_mode="ASSUME_ROLE",
        role_arn=acme["role_arn"],
        external_id=acme["external_id"],
        session_name="aws-boundary-tests",
    )
