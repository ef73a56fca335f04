"""The customer's IAM policies on the partner's roles, as the simulator enforces them.

The steady-state partner role follows the seed's tag-based authorization when the account's tag policy is
on: creates carry ``PartnerManaged=true``, changes touch only resources carrying it, and no tag can be set
or removed (the role has no CreateTags or DeleteTags). The temporary adoption/release role (the customer's second stack) may
do exactly two things: tag a WorkSpace ``PartnerManaged=true`` and remove that one key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import errors
from simulator.entities import tag_dict
from simulator.operations.context import RequestContext
from simulator.state import TAG_KEY

if TYPE_CHECKING:
    from simulator.backend import SimWorkSpacesBackend

# ARN resource types by id prefix, for the adoption role's Resource: arn:...:workspace/*.
_KIND_BY_PREFIX = {"ws-": "workspace", "wsi-": "workspaceimage", "wsb-": "workspacebundle", "d-": "directory"}


def deny(ctx: RequestContext, resource: str, reason: str) -> errors.AwsError:
    return errors.access_denied(
        f"User: {ctx.principal_arn or ctx.access_key_id} is not authorized to perform: "
        f"workspaces:{ctx.operation} on resource: {resource} {reason}"
    )


def authorize_create(
    backend: SimWorkSpacesBackend, ctx: RequestContext, tags: list[dict[str, Any]] | None, kind: str
) -> None:
    """aws:RequestTag/PartnerManaged = true (and, if strict, aws:TagKeys = [PartnerManaged])."""
    if not ctx.tag_policy_applies:
        return
    requested = tag_dict(tags)
    resource = backend.resource_arn(kind, "*")
    if requested.get(TAG_KEY) != "true":
        raise deny(ctx, resource, f"because the request does not carry the tag {TAG_KEY}=true")
    if ctx.strict_tag_keys and set(requested) - {TAG_KEY}:
        raise deny(ctx, resource, f"because aws:TagKeys may only contain {TAG_KEY}")


def authorize_resource(
    backend: SimWorkSpacesBackend, ctx: RequestContext, kind: str, resource_id: str, tags: dict[str, str]
) -> None:
    """aws:ResourceTag/PartnerManaged = true."""
    if ctx.tag_policy_applies and tags.get(TAG_KEY) != "true":
        raise deny(
            ctx,
            backend.resource_arn(kind, resource_id),
            f"because the resource is not tagged {TAG_KEY}=true",
        )


def authorize_tag_change(
    backend: SimWorkSpacesBackend,
    ctx: RequestContext,
    kind: str,
    resource_id: str,
    tags: dict[str, str],
    keys: set[str],
) -> None:
    """CreateTags/DeleteTags by the steady-state role: its policy grants neither (the seed: the partner
    never modifies or deletes tags); adoption and release tag through the temporary role."""
    if not ctx.tag_policy_applies:
        return
    reason = (
        f"because the tag {TAG_KEY} is protected"
        if TAG_KEY in keys
        else "because the partner role may not modify or delete tags"
    )
    raise deny(ctx, backend.resource_arn(kind, resource_id), reason)


def authorize_adoption_role(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> None:
    """The adoption/release role's whole policy; every other call of that role is denied.

    Allow workspaces:CreateTags on ``workspace/*`` when aws:RequestTag/PartnerManaged = true and
    aws:TagKeys (ForAllValues) = [PartnerManaged]; allow workspaces:DeleteTags on ``workspace/*`` when
    aws:TagKeys (ForAllValues) = [PartnerManaged].
    """
    if not ctx.adoption_role:
        return
    resource_id = str(params.get("ResourceId") or "*")
    kind = next((k for prefix, k in _KIND_BY_PREFIX.items() if resource_id.startswith(prefix)), "*")
    resource = backend.resource_arn(kind, resource_id)
    if not ctx.adoption_role_exists:
        raise deny(ctx, resource, "because the adoption stack (and its role's policy) was deleted")
    if ctx.operation not in ("CreateTags", "DeleteTags"):
        raise deny(ctx, resource, "because the adoption role may only tag or untag PartnerManaged")
    if kind != "workspace":
        raise deny(ctx, resource, "because the adoption role may only tag WorkSpaces")
    if ctx.operation == "CreateTags":
        requested = tag_dict(params.get("Tags"))
        if set(requested) != {TAG_KEY} or requested[TAG_KEY] != "true":
            raise deny(ctx, resource, f"because the adoption role may only set {TAG_KEY}=true")
    elif set(params.get("TagKeys") or []) - {TAG_KEY}:
        raise deny(ctx, resource, f"because the adoption role may only remove {TAG_KEY}")
