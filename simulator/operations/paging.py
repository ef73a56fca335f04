"""NextToken paging that is stable and bound to its caller.

A token names the sort key of the last item it returned, not a position, so items that drop out between
pages (a TERMINATED WorkSpace leaving Describe) cannot make the next page skip live ones, and items made
meanwhile appear once. It carries a digest of the account, Region, operation and filter, signed with a
secret that changes on every reset, so another account, another query or an edited token is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from simulator.errors import AwsError
from simulator.operations.context import RequestContext
from simulator.state import STATE

T = TypeVar("T")
SortKey = tuple[int | str, ...]
# Members that shape a page but not the query: the page size may change from one page to the next.
PAGE_CONTROLS = ("NextToken", "Limit", "MaxResults")
DEFAULT_PAGE_SIZE = 25


def _binding(ctx: RequestContext, params: dict[str, Any]) -> str:
    query = {k: v for k, v in params.items() if k not in PAGE_CONTROLS}
    caller = [ctx.account_id, ctx.region, ctx.operation, query]
    return hashlib.sha256(json.dumps(caller, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _signature(payload: bytes) -> str:
    return hmac.new(STATE.token_secret, payload, hashlib.sha256).hexdigest()[:32]


def _encode(binding: str, after: SortKey) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"b": binding, "k": list(after)}).encode())
    return f"{payload.decode()}.{_signature(payload)}"


def _decode(token: str, binding: str) -> SortKey | None:
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature, _signature(payload.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        if data["b"] != binding:
            return None
        return tuple(data["k"])
    except (ValueError, KeyError, TypeError):
        return None


def paginate(
    ctx: RequestContext,
    params: dict[str, Any],
    items: Sequence[T],
    *,
    key: Callable[[T], SortKey],
    page_size: int,
    invalid_token: Callable[[str], AwsError],
) -> tuple[list[T], str | None]:
    """One page of ``items`` in ``key`` order, and the NextToken for the rest.

    ``invalid_token`` makes the error a bad token gets: an operation answers only the codes the service
    model declares for it (InvalidParameterValuesException where declared, else ValidationException).
    """
    binding = _binding(ctx, params)
    ordered = sorted(items, key=key)
    token = params.get("NextToken")
    if token:
        after = _decode(token, binding)
        if after is None:
            raise invalid_token("The pagination token is not valid for this request.")
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:page_size]
    return page, (_encode(binding, key(page[-1])) if len(ordered) > page_size else None)


def page_size(params: dict[str, Any], default: int = DEFAULT_PAGE_SIZE) -> int:
    """The caller's ``Limit``/``MaxResults`` (the model bounds it), or the operation's default."""
    return int(params.get("Limit") or params.get("MaxResults") or default)
