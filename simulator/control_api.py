"""The JSON control API under ``/_simulator/``: clock, durations, accounts, credentials, faults,
sessions, recorded calls, demo world and reset. Documented in ``simulator/README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from simulator import world
from simulator.state import DEFAULT_REGION, STATE

Handler = Callable[[dict[str, Any], dict[str, str], str], Any]


def _clock() -> dict[str, Any]:
    return STATE.clock.describe()


def _reset(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    world.reset(seed=body.get("seed"), time_scale=body.get("time_scale"))
    demo = None
    if body.get("demo_world", STATE.options.demo_world):
        demo = world.create_demo_world(ready=bool(body.get("demo_ready", STATE.options.demo_ready)))
    return {"clock": _clock(), "seed": STATE.seed, "demo_world": demo}


def _clock_route(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    if "time_scale" in body:
        STATE.clock.set_time_scale(float(body["time_scale"]))
    if "now" in body:
        STATE.clock.set_now(datetime.fromisoformat(body["now"]))
    if "advance_seconds" in body:
        STATE.clock.advance(float(body["advance_seconds"]))
    return _clock()


def _durations(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    STATE.durations.update(body)
    return dict(vars(STATE.durations))


def _accounts(body: dict[str, Any], query: dict[str, str], rest: str) -> Any:
    account_id, _, sub = rest.strip("/").partition("/")
    if sub == "adoption-stack":
        if body.get("_delete"):
            return world.set_adoption_stack(account_id, False)
        if "deployed" in body:
            return world.set_adoption_stack(account_id, bool(body["deployed"]))
        return STATE.account(account_id).describe()
    if sub:
        raise KeyError(f"unknown account route {sub}")
    if rest:
        if body:
            return world.update_account(account_id, **body)
        return STATE.account(account_id).describe()
    if body:
        body = dict(body)
        return world.create_customer_account(body.pop("account_id", None), **body)
    return [account.describe() for account in STATE.accounts.values() if account.registered]


def _credentials(body: dict[str, Any], query: dict[str, str], rest: str) -> Any:
    if rest.strip("/") == "expire":
        expired = world.expire_credentials(body.get("access_key_id"), body.get("account_id"))
        return {"expired": expired}
    return [credential.describe() for credential in STATE.credentials.values()]


def _faults(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    if rest.strip("/") == "schedule":
        STATE.faults.schedule(
            body["operation"],
            body["kind"],
            body.get("code"),
            int(body.get("count", 1)),
            seconds=body.get("seconds"),
        )
    elif body.get("_delete"):
        STATE.faults.configure({"seed": STATE.faults.seed})
        STATE.faults.scheduled.clear()
    elif body:
        STATE.faults.configure(body)
    return STATE.faults.describe()


def _rate_limit(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    if body.get("_delete"):
        STATE.rate_limit.configure(0.0)
    elif body:
        STATE.rate_limit.configure(float(body["per_second"]), body.get("burst"))
    return STATE.rate_limit.describe()


def _sessions(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    events = [(float(offset), state) for offset, state in body.get("events") or []]
    return world.set_connection(body["workspace_id"], body.get("state"), events=events, at=body.get("at"))


def _workspaces(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    return world.workspace_snapshot(rest.strip("/"))


def _calls(body: dict[str, Any], query: dict[str, str], rest: str) -> Any:
    if body.get("_delete"):
        STATE.recorder.clear()
        return {"cleared": True}
    if rest.strip("/") == "counts":
        return STATE.recorder.count_summary(query.get("account_id"))
    limit = int(query["limit"]) if query.get("limit") else None
    return STATE.recorder.query(query.get("operation"), query.get("account_id"), limit)


def _demo_world(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    return world.create_demo_world(ready=bool(body.get("ready")), region=body.get("region", DEFAULT_REGION))


def _fleet_world(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    return world.create_fleet_world(int(body["count"]), region=body.get("region", DEFAULT_REGION))


def _amis(body: dict[str, Any], query: dict[str, str], rest: str) -> Any:
    from simulator.amis import DEFAULT_AMI_SPECS, seed_amis

    account_id = body["account_id"]
    ids = world.deterministic_ami_ids(account_id, len(DEFAULT_AMI_SPECS))
    return seed_amis(account_id, body.get("region", DEFAULT_REGION), ids)


def _health(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    return {"ok": True, "clock": _clock(), "seed": STATE.seed}


def _config(body: dict[str, Any], query: dict[str, str], rest: str) -> dict[str, Any]:
    return {
        "clock": _clock(),
        "seed": STATE.seed,
        "durations": dict(vars(STATE.durations)),
        "faults": STATE.faults.describe(),
        "rate_limit": STATE.rate_limit.describe(),
        "accounts": [a.describe() for a in STATE.accounts.values() if a.registered],
    }


ROUTES: dict[str, Handler] = {
    "health": _health,
    "config": _config,
    "reset": _reset,
    "clock": _clock_route,
    "durations": _durations,
    "accounts": _accounts,
    "credentials": _credentials,
    "faults": _faults,
    "rate-limit": _rate_limit,
    "sessions": _sessions,
    "workspaces": _workspaces,
    "calls": _calls,
    "demo-world": _demo_world,
    "fleet-world": _fleet_world,
    "amis": _amis,
}


def handle_control(environ: dict[str, Any]) -> tuple[int, Any]:
    """Route one control request; returns (HTTP status, JSON-able payload)."""
    path = environ.get("PATH_INFO", "")[len("/_simulator/") :]
    name, _, rest = path.partition("/")
    handler = ROUTES.get(name)
    if handler is None:
        return 404, {"error": f"unknown control route /_simulator/{name}", "routes": sorted(ROUTES)}
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw else {}
        if environ.get("REQUEST_METHOD") == "DELETE":
            body = {"_delete": True}
        with STATE.lock:
            return 200, handler(body, query, rest)
    except (ValueError, KeyError, TypeError) as error:
        return 400, {"error": f"{type(error).__name__}: {error}"}
