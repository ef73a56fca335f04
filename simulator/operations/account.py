"""The account's BYOL setup: DescribeAccount, DescribeAccountModifications,
ListAvailableManagementCidrRanges and ModifyAccount (once configured, never changed).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import AccountModification
from simulator.operations.context import Handler, RequestContext
from simulator.operations.paging import page_size, paginate
from simulator.state import STATE

CIDR_PAGE_SIZE = 5
PRIVATE_RANGES = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
# WorkSpaces' own (AWS-reserved) /16s the management CIDR list never offers.
RESERVED_MANAGEMENT_RANGES = [ipaddress.ip_network(n) for n in ("172.31.0.0/16", "192.168.0.0/16")]


def byol_completed(backend: SimWorkSpacesBackend, now: float) -> bool:
    return any(m.state(now) == "COMPLETED" for m in backend.account_modifications)


def available_management_ranges(backend: SimWorkSpacesBackend, constraint: str) -> list[str]:
    try:
        wanted = ipaddress.ip_network(constraint, strict=False)
    except ValueError as exc:
        raise errors.invalid_parameter(f"{constraint} is not a valid CIDR block.") from exc
    # IPv4 only (as the model's pattern already is): subnet_of an IPv4 range raises TypeError for IPv6.
    if (
        not isinstance(wanted, ipaddress.IPv4Network)
        or wanted.prefixlen > 16
        or not any(wanted.subnet_of(private) for private in PRIVATE_RANGES)
    ):
        raise errors.invalid_parameter(
            "The constraint must be a private (RFC 1918) CIDR block of prefix /16 or shorter."
        )
    used = [ipaddress.ip_network(vpc.cidr_block) for vpc in backend.ec2.vpcs.values()]
    used.extend(RESERVED_MANAGEMENT_RANGES)
    used.extend(
        ipaddress.ip_network(m.cidr) for m in backend.account_modifications if m.outcome == "COMPLETED"
    )
    return [str(n) for n in wanted.subnets(new_prefix=16) if not any(n.overlaps(u) for u in used)]


def list_available_management_cidr_ranges(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    ranges = available_management_ranges(backend, params["ManagementCidrRangeConstraint"])
    page, token = paginate(
        ctx,
        params,
        ranges,
        key=lambda cidr: (int(ipaddress.ip_network(cidr).network_address),),
        page_size=page_size(params, CIDR_PAGE_SIZE),
        invalid_token=errors.invalid_parameter,
    )
    return {"ManagementCidrRanges": page, "NextToken": token}


def modify_account(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    if params.get("DedicatedTenancySupport") != "ENABLED":
        raise errors.invalid_parameter("DedicatedTenancySupport=ENABLED is required.")
    cidr = params.get("DedicatedTenancyManagementCidrRange")
    if not cidr:
        raise errors.invalid_parameter("DedicatedTenancyManagementCidrRange is required.")
    if not backend.settings.byol_eligible:
        raise errors.access_denied(
            "This account is not enabled for BYOL; the customer must enable BYOL first."
        )
    for modification in backend.account_modifications:
        if modification.state(now) in ("PENDING", "COMPLETED"):
            raise errors.invalid_state(
                "The account is already configured for BYOL (or a modification is pending); "
                "the management CIDR cannot be changed once configured."
            )
    available = set()
    for private in PRIVATE_RANGES:
        available.update(available_management_ranges(backend, str(private)))
    if cidr not in available:
        raise errors.invalid_parameter(
            f"The CIDR block {cidr} is not available; use ListAvailableManagementCidrRanges."
        )
    backend.account_modifications.append(
        AccountModification(
            cidr=cidr,
            started_at=now,
            completes_at=now + STATE.durations.account_modification,
            outcome=backend.settings.modify_account_outcome,
        )
    )
    return {}


def describe_account(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    completed = [m for m in backend.account_modifications if m.state(now) == "COMPLETED"]
    return {
        "DedicatedTenancySupport": "ENABLED" if completed else "DISABLED",
        "DedicatedTenancyManagementCidrRange": completed[-1].cidr if completed else None,
    }


def describe_account_modifications(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    now = backend.settle()
    # The list is append-only, so an index is a stable key; newest first.
    indexed = list(enumerate(backend.account_modifications))
    page, token = paginate(
        ctx,
        params,
        indexed,
        key=lambda entry: (-entry[0],),
        page_size=page_size(params),
        invalid_token=errors.validation,  # the model declares no InvalidParameterValues here
    )
    return {"AccountModifications": [m.to_dict(now) for _, m in page], "NextToken": token}


OPERATIONS: dict[str, Handler] = {
    "DescribeAccount": describe_account,
    "DescribeAccountModifications": describe_account_modifications,
    "ListAvailableManagementCidrRanges": list_available_management_cidr_ranges,
    "ModifyAccount": modify_account,
}
