"""Every error code an operation can answer is one the botocore service model declares for it, or one
AWS answers for any operation (its "Common Errors"). Checked two ways: statically, by walking each
operation's code in the simulator source, and on the wire for the cases the model review found.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
import types
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from simulator import entities, errors
from simulator.backend import SimWorkSpacesBackend
from simulator.errors import AwsError
from simulator.model import service_model
from simulator.operations import OPERATIONS, dispatch
from simulator.operations.context import RequestContext
from tests.simulator.conftest import create_desktops

# AWS's "Common Errors" (any operation of any service) in their JSON-protocol spelling: ValidationError
# is ValidationException there; ExpiredToken, UnrecognizedClient and Serialization are the JSON
# protocol's own answers to bad credentials and bodies.
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "IncompleteSignature",
        "InternalFailure",
        "InvalidAction",
        "InvalidClientTokenId",
        "NotAuthorized",
        "OptInRequired",
        "RequestExpired",
        "ServiceUnavailable",
        "ThrottlingException",
        "ValidationException",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "SerializationException",
    }
)
# Objects whose methods an operation may call on a value the walker cannot type (``backend.x``, ``w.y``).
METHOD_OWNERS = (
    SimWorkSpacesBackend,
    RequestContext,
    entities.Workspace,
    entities.WorkspaceImage,
    entities.Bundle,
    entities.RegisteredDirectory,
    entities.AccountModification,
)


def _is_simulator_function(value: Any) -> bool:
    return isinstance(value, types.FunctionType) and value.__module__.startswith("simulator")


def _methods_named(name: str) -> list[Callable[..., Any]]:
    found = []
    for owner in METHOD_OWNERS:
        attribute = inspect.getattr_static(owner, name, None)
        if isinstance(attribute, property):
            attribute = attribute.fget
        if isinstance(attribute, (staticmethod, classmethod)):
            attribute = attribute.__func__
        if _is_simulator_function(attribute):
            found.append(attribute)
    return found


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> list[Any]:
    """What a name or attribute in simulator code may refer to (several candidates for ``obj.method``)."""
    if isinstance(node, ast.Name):
        if node.id in namespace:
            return [namespace[node.id]]
        return [getattr(builtins, node.id)] if hasattr(builtins, node.id) else []
    if isinstance(node, ast.Attribute):
        owners = _resolve(node.value, namespace)
        modules = [owner for owner in owners if isinstance(owner, types.ModuleType)]
        if modules:
            return [getattr(module, node.attr) for module in modules if hasattr(module, node.attr)]
        return _methods_named(node.attr)
    return []


def codes_raised(function: Callable[..., Any], seen: set[Any] | None = None) -> set[str]:
    """Every AwsError code ``function`` can produce, following the simulator functions it calls or passes on.

    A code that is not a literal is reported as ``<dynamic ...>`` so the test fails rather than guesses.
    """
    seen = set() if seen is None else seen
    if function in seen:
        return set()
    seen.add(function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    namespace = dict(function.__globals__)
    if function.__closure__:
        cells = [cell.cell_contents for cell in function.__closure__]
        namespace.update(zip(function.__code__.co_freevars, cells, strict=True))
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and AwsError in _resolve(node.func, namespace):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                codes.add(first.value)
            else:
                codes.add(f"<dynamic code in {function.__qualname__}>")
        if isinstance(node, (ast.Name, ast.Attribute)):
            for target in _resolve(node, namespace):
                if _is_simulator_function(target):
                    codes |= codes_raised(target, seen)
    return codes


def declared(operation: str) -> set[str]:
    return {shape.name for shape in service_model().operation_model(operation).error_shapes}


def test_the_walker_finds_codes_through_calls_references_and_methods():
    def passes_a_constructor(backend, ctx, params):
        return sorted([], key=errors.invalid_state)  # a reference counts: paginate gets its error this way

    def calls_a_method(backend, ctx, params):
        return backend.get_workspace(params["WorkspaceId"])

    def literal(backend, ctx, params):
        raise AwsError("WorkspacesDefaultRoleNotFoundException", "no role")

    assert codes_raised(passes_a_constructor) == {"InvalidResourceStateException"}
    assert codes_raised(calls_a_method) == {"ResourceNotFoundException"}
    assert codes_raised(literal) == {"WorkspacesDefaultRoleNotFoundException"}
    assert {
        "UnsupportedWorkspaceConfigurationException",
        "OperationInProgressException",
        "InvalidResourceStateException",
        "ResourceNotFoundException",
        "AccessDeniedException",
    } <= codes_raised(OPERATIONS["ModifyWorkspaceProperties"])


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_code_an_operation_can_answer_is_declared_or_common(operation):
    possible = codes_raised(OPERATIONS[operation]) | codes_raised(dispatch)
    assert possible, f"the walker found nothing in {operation}: it would prove nothing"
    undeclared = possible - declared(operation) - COMMON_ERRORS
    assert not undeclared, f"{operation} can answer {sorted(undeclared)}, which its model does not declare"


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def test_restore_and_migrate_in_the_wrong_state_answer_operation_not_supported(simulator, acme, ws):
    [workspace_id] = create_desktops(ws, acme, 1)  # PENDING, not in transition for long
    simulator.advance(1200)
    ws.modify_workspace_state(WorkspaceId=workspace_id, WorkspaceState="ADMIN_MAINTENANCE")
    assert code_of(ws.restore_workspace, WorkspaceId=workspace_id) == "OperationNotSupportedException"
    assert (
        code_of(ws.migrate_workspace, SourceWorkspaceId=workspace_id, BundleId="wsb-bh8rsxt14")
        == "OperationNotSupportedException"
    )


def test_a_bad_token_answers_what_the_model_declares(simulator, acme, ws):
    # Neither operation declares InvalidParameterValuesException: ValidationException is AWS-wide.
    assert code_of(ws.describe_workspace_images, NextToken="not-a-token") == "ValidationException"
    assert code_of(ws.describe_account_modifications, NextToken="not-a-token") == "ValidationException"
    assert code_of(ws.describe_workspaces, NextToken="not-a-token") == "InvalidParameterValuesException"


@pytest.mark.parametrize("operation", ["start_workspaces", "stop_workspaces"])
def test_an_item_without_a_workspace_id_is_a_validation_error(simulator, acme, ws, operation):
    [workspace_id] = create_desktops(ws, acme, 1)
    simulator.advance(1200)
    member = "StartWorkspaceRequests" if operation == "start_workspaces" else "StopWorkspaceRequests"
    with pytest.raises(ClientError) as raised:
        getattr(ws, operation)(**{member: [{"WorkspaceId": workspace_id}, {}]})
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    wire_member = member[0].lower() + member[1:]
    assert f"Value null at '{wire_member}.2.member.workspaceId'" in error["Message"]
    # Nothing of the request was performed: the valid item is untouched.
    assert ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"][0]["State"] == "AVAILABLE"
