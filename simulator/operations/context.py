"""Who is calling what, and the small helpers every operation module shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.moto_api._internal import mock_random

from simulator.faults import CallFaults

if TYPE_CHECKING:
    from simulator.backend import SimWorkSpacesBackend


@dataclass
class RequestContext:
    """Who is calling what: the account the credentials map to and the policy that applies."""

    operation: str
    account_id: str
    region: str
    access_key_id: str = ""
    principal_arn: str = ""
    tag_policy_applies: bool = False
    strict_tag_keys: bool = False
    # Credentials of the customer's adoption/release role: only its own narrow policy applies.
    adoption_role: bool = False
    # False once the customer deleted the adoption stack: the role's sessions then have no permission.
    adoption_role_exists: bool = True
    faults: CallFaults = field(default_factory=CallFaults)


Handler = Callable[["SimWorkSpacesBackend", RequestContext, dict[str, Any]], dict[str, Any]]


def new_id(prefix: str, length: int = 9) -> str:
    return f"{prefix}-{mock_random.get_random_string(length=length, lower_case=True)}"
