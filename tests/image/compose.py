"""Reading docker-compose files the way `docker compose` does, for what the image check needs.

Interpolation follows the Compose specification (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `${VAR?error}`, `${VAR:+replacement}`, `$$`), so the check sees the same values and the
same refusals as compose; files given later override earlier ones, service by service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<word>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


# What a server in a container listens on to be reachable through its published port.
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104


class ComposeError(ValueError):
    """What `docker compose` would refuse, with compose's own reason."""


@dataclass(frozen=True)
class MissingVariable:
    name: str
    message: str
    where: str


def interpolate(
    value: str, environment: dict[str, str], *, where: str = ""
) -> tuple[str, list[MissingVariable]]:
    """One string with compose's interpolation; the required variables that were missing, with messages."""
    missing: list[MissingVariable] = []

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op = match.group("op") or ""
        word = match.group("word") or ""
        is_set = name in environment
        current = environment.get(name, "")
        present = bool(current) if op.startswith(":") else is_set
        if op.endswith("-"):
            return current if present else word
        if op.endswith("?"):
            if not present:
                missing.append(MissingVariable(name, word, where))
                return ""
            return current
        if op.endswith("+"):
            return word if present else ""
        return current

    return _INTERPOLATION.sub(replace, value), missing


def _interpolate_tree(
    node: Any, environment: dict[str, str], where: str, missing: list[MissingVariable]
) -> Any:
    if isinstance(node, str):
        value, absent = interpolate(node, environment, where=where)
        missing.extend(absent)
        return value
    if isinstance(node, list):
        return [_interpolate_tree(item, environment, where, missing) for item in node]
    if isinstance(node, dict):
        return {
            key: _interpolate_tree(value, environment, f"{where}.{key}" if where else str(key), missing)
            for key, value in node.items()
        }
    return node


def _merge(base: Any, override: Any) -> Any:
    """A later file's service entries win; mappings (environment, depends_on, …) merge key by key."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def load_raw(paths: list[Path]) -> dict[str, Any]:
    """The files merged in order, before interpolation (YAML anchors and `<<` merge keys resolved)."""
    merged: dict[str, Any] = {}
    for path in paths:
        document = yaml.safe_load(path.read_text()) or {}
        merged = _merge(merged, document)
    return merged


def missing_variables(paths: list[Path], environment: dict[str, str]) -> list[MissingVariable]:
    """Every `${VAR:?…}` that `environment` leaves unset, in file order (what compose refuses to start on)."""
    missing: list[MissingVariable] = []
    for path in paths:
        _interpolate_tree(yaml.safe_load(path.read_text()) or {}, environment, "", missing)
    return missing


def load(paths: list[Path], environment: dict[str, str]) -> dict[str, Any]:
    """The files merged and interpolated; a missing required variable raises with compose's message."""
    missing: list[MissingVariable] = []
    documents = [
        _interpolate_tree(yaml.safe_load(path.read_text()) or {}, environment, "", missing) for path in paths
    ]
    if missing:
        raise ComposeError(
            "; ".join(f"{item.name} is required ({item.message}) at {item.where}" for item in missing)
        )
    merged: dict[str, Any] = {}
    for document in documents:
        merged = _merge(merged, document)
    return merged


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, given as a mapping or as a list of NAME=value."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.partition("=") for item in environment)
        return {name: value for name, _, value in pairs}
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def container_ports(service: dict[str, Any]) -> list[int]:
    """The container side of each published port ("127.0.0.1:8000:8000" → 8000)."""
    ports = []
    for entry in service.get("ports", []):
        text = str(entry).split("/")[0]
        ports.append(int(text.rsplit(":", 1)[-1]))
    return ports


def command_list(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        raise ComposeError("write service commands as lists, so each argument is exact")
    return list(command or [])


# ---------------------------------------------------------------------- stand-ins for the other services
_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<userinfo>[^@/\s]*@)?(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?(?P<path>[^\s,]*)"
)


def point_at_stand_ins(value: str, stand_ins: dict[str, str], service_names: set[str]) -> str:
    """Rewrite URLs that name another compose service (postgres:5432, redis:6379, …) to their stand-ins.

    `stand_ins` maps a service name to what replaces the URL's scheme, user, host and port (and, for a
    database, its path too when the stand-in has one). A URL naming a compose service with no stand-in
    is refused, so nothing in the stack quietly points at a host that does not exist here.
    """

    def replace(match: re.Match[str]) -> str:
        host = match.group("host")
        if host not in service_names:
            return match.group(0)
        if host not in stand_ins:
            raise ComposeError(
                f"{match.group(0)} names the service {host!r}, which the check has no stand-in for"
            )
        replacement = stand_ins[host]
        replacement_has_path = "/" in replacement.split("://", 1)[-1]
        return replacement if replacement_has_path else replacement + match.group("path")

    return _URL.sub(replace, value)


def listen_locally(command: list[str], container_port: int, host_port: int) -> list[str]:
    """A command that listens on 0.0.0.0:<container_port> in its container, made to listen on loopback.

    Refuses a command that does not name both: in a container, a server must listen on every interface
    to be reachable through its published port, and on the port compose publishes.
    """
    joined = " ".join(command)
    if EVERY_INTERFACE not in joined:
        raise ComposeError(f"`{joined}` does not listen on 0.0.0.0: its published port would answer nothing")
    port_text = str(container_port)
    rewritten = []
    found_port = False
    for argument in command:
        argument = argument.replace(EVERY_INTERFACE, "127.0.0.1")
        if argument == port_text:
            argument, found_port = str(host_port), True
        elif argument.endswith((":" + port_text, "=" + port_text)):
            argument, found_port = argument[: -len(port_text)] + str(host_port), True
        rewritten.append(argument)
    if not found_port:
        raise ComposeError(f"`{joined}` does not listen on port {container_port}, the one compose publishes")
    return rewritten
