"""The botocore WorkSpaces service model as the wire contract.

Input is validated generically from the model (required members, list and string lengths, patterns,
enums, integer ranges), the way AWS's service front end does it: every violation is a
``ValidationException`` listing what failed. Output is checked against the model too, so a simulator
bug that invents a member fails loudly instead of drifting from the contract.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from simulator.errors import AwsError

MAX_REPORTED_ERRORS = 10


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("workspaces")


@functools.cache
def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _check_length(value: Any, meta: dict[str, Any], where: str, errors: list[str]) -> None:
    """The model's min/max length of a list or string, in AWS's own validation wording."""
    if "min" in meta and len(value) < meta["min"]:
        errors.append(
            f"Value '{_shown(value)}' {where} failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and len(value) > meta["max"]:
        errors.append(
            f"Value '{_shown(value)}' {where} failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        )


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    """Append every constraint ``value`` breaks to ``errors``, recursing through the shape.

    One piece: one branch per shape kind of the model, each short, around a single recursion; split
    apart, the kinds would have to pass the same path and error list back and forth.
    """
    kind = shape.type_name
    meta = shape.metadata
    where = f"at '{path}'" if path else ""
    if kind == "structure":
        if not isinstance(value, dict):
            raise AwsError("SerializationException", f"Expected an object {where}")
        for required in shape.required_members:
            if value.get(required) is None:
                sub = f"{path}.{_camel(required)}" if path else _camel(required)
                errors.append(f"Value null at '{sub}' failed to satisfy constraint: Member must not be null")
        for key, member_value in value.items():
            member = shape.members.get(key)
            if member is None or member_value is None:
                continue  # AWS ignores members it does not know
            sub = f"{path}.{_camel(key)}" if path else _camel(key)
            _check(member, member_value, sub, errors)
        return
    if kind == "list":
        if not isinstance(value, list):
            raise AwsError("SerializationException", f"Expected a list {where}")
        _check_length(value, meta, where, errors)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise AwsError("SerializationException", f"Expected a map {where}")
        for item in value.values():
            _check(shape.value, item, path, errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            raise AwsError("SerializationException", f"Expected a string {where}")
        _check_length(value, meta, where, errors)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            errors.append(
                f"Value '{_shown(value)}' {where} failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            errors.append(
                f"Value '{_shown(value)}' {where} failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AwsError("SerializationException", f"Expected an integer {where}")
        if "min" in meta and value < meta["min"]:
            errors.append(
                f"Value '{value}' {where} failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            errors.append(
                f"Value '{value}' {where} failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
        return
    if kind == "boolean" and not isinstance(value, bool):
        raise AwsError("SerializationException", f"Expected a boolean {where}")


def validate_input(operation: str, params: Any) -> None:
    """Raise ``ValidationException`` (or ``SerializationException``) like the AWS front end."""
    shape = operation_model(operation).input_shape
    if shape is None:
        return
    errors: list[str] = []
    _check(shape, params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        raise AwsError("ValidationException", f"{count} validation {noun} detected: {shown}")


def _conform(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        result = {}
        for key, member_value in value.items():
            if member_value is None:
                continue
            member = shape.members.get(key)
            if member is None:
                raise AssertionError(f"simulator bug: {path}.{key} is not in the {shape.name} shape")
            result[key] = _conform(member, member_value, f"{path}.{key}")
        return result
    if kind == "list":
        return [_conform(shape.member, item, f"{path}[]") for item in value]
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else float(value)
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            raise AssertionError(f"simulator bug: {path}={value!r} is not in the {shape.name} enum")
        return value
    return value


def conform_output(operation: str, data: dict[str, Any]) -> dict[str, Any]:
    """Drop ``None`` members, turn datetimes into epoch seconds, and refuse members the model lacks."""
    shape = operation_model(operation).output_shape
    if shape is None:
        return {}
    return _conform(shape, data, operation)


def page_size_limits(operation: str) -> tuple[str | None, int | None]:
    """The input member that bounds a page (``Limit``/``MaxResults``) and its model maximum."""
    shape = operation_model(operation).input_shape
    if shape is None:
        return None, None
    for name in ("Limit", "MaxResults"):
        member = shape.members.get(name)
        if member is not None:
            return name, member.metadata.get("max")
    return None, None
