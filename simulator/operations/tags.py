"""Tags on WorkSpaces, images, bundles and directories: CreateTags, DeleteTags and DescribeTags."""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.backend import SimWorkSpacesBackend
from simulator.entities import tag_dict, tag_list
from simulator.operations import policy
from simulator.operations.context import Handler, RequestContext

MAX_TAGS_PER_RESOURCE = 50


def create_tags(backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, tags = backend.find_taggable(params["ResourceId"])
    new = tag_dict(params["Tags"])
    policy.authorize_tag_change(backend, ctx, kind, params["ResourceId"], tags, set(new))
    if any(key.lower().startswith("aws:") for key in new):
        raise errors.invalid_parameter("Tag keys starting with aws: are reserved.")
    if len(set(tags) | set(new)) > MAX_TAGS_PER_RESOURCE:
        raise errors.limit_exceeded(f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags.")
    tags.update(new)
    return {}


def delete_tags(backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    kind, tags = backend.find_taggable(params["ResourceId"])
    policy.authorize_tag_change(backend, ctx, kind, params["ResourceId"], tags, set(params["TagKeys"]))
    for key in params["TagKeys"]:
        tags.pop(key, None)
    return {}


def describe_tags(
    backend: SimWorkSpacesBackend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    _, tags = backend.find_taggable(params["ResourceId"])
    return {"TagList": tag_list(tags)}


OPERATIONS: dict[str, Handler] = {
    "CreateTags": create_tags,
    "DescribeTags": describe_tags,
    "DeleteTags": delete_tags,
}
