"""A Python client of the control API, usable from any process that can reach the simulator.

sim = SimulatorControl("http://127.0.0.1:5000")
sim.reset(seed=7)
world = sim.create_demo_world(ready=True)
sim.set_faults(throttle_rate=0.3, operations={"CreateWorkspaces": {"failed_item_rate": 0.1}})
sim.advance(1200)               # PENDING WorkSpaces are AVAILABLE now
sim.calls("CreateWorkspaces")   # what each CreateWorkspaces carried
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode


class SimulatorControlError(RuntimeError):
    """The control API refused a request (bad setting, unknown id)."""


class SimulatorControl:
    """Thin JSON-over-HTTP client for ``/_simulator/...``."""

    def __init__(self, endpoint_url: str, timeout: float = 30.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, route: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        query = {k: v for k, v in query.items() if v is not None}
        url = f"{self.endpoint_url}/_simulator/{route}" + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the simulator's own http endpoint
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SimulatorControlError(error.read().decode("utf-8", "replace")) from error

    # ----------------------------------------------------------- lifecycle
    def health(self) -> dict[str, Any]:
        return self._request("GET", "health")

    def config(self) -> dict[str, Any]:
        return self._request("GET", "config")

    def reset(
        self,
        *,
        seed: int | None = None,
        time_scale: float | None = None,
        demo_world: bool = False,
        demo_ready: bool = False,
    ) -> dict[str, Any]:
        """Forget all state (moto's too). Returns ``{"clock", "seed", "demo_world"}``."""
        body: dict[str, Any] = {"demo_world": demo_world, "demo_ready": demo_ready}
        if seed is not None:
            body["seed"] = seed
        if time_scale is not None:
            body["time_scale"] = time_scale
        return self._request("POST", "reset", body)

    # --------------------------------------------------------------- clock
    def clock(self) -> dict[str, Any]:
        return self._request("GET", "clock")

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock()["epoch"], UTC)

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward; every lazy transition due by then has happened."""
        return datetime.fromtimestamp(
            self._request("POST", "clock", {"advance_seconds": seconds})["epoch"], UTC
        )

    def set_time_scale(self, time_scale: float) -> dict[str, Any]:
        return self._request("POST", "clock", {"time_scale": time_scale})

    def set_now(self, when: datetime) -> dict[str, Any]:
        return self._request("POST", "clock", {"now": when.isoformat()})

    def durations(self) -> dict[str, float]:
        return self._request("GET", "durations")

    def set_durations(self, **seconds: float) -> dict[str, float]:
        """e.g. ``set_durations(provisioning=60, image_import=300)`` (simulated seconds)."""
        return self._request("POST", "durations", seconds)

    # ------------------------------------------------------------ accounts
    def create_customer_account(self, account_id: str | None = None, **settings: Any) -> dict[str, Any]:
        """A customer account: ``{"account_id", "role_arn", "external_id", "admin_access_key_id", ...}``.

        ``settings``: name, external_id, role_name, tag_enforcement, tag_policy_strict_keys, byop_enabled,
        byol_eligible, max_session_duration, modify_account_outcome, workspace_quota, unique_workspace_names,
        adoption_stack.
        """
        body = dict(settings)
        if account_id is not None:
            body["account_id"] = account_id
        return self._request("POST", "accounts", body)

    def accounts(self) -> list[dict[str, Any]]:
        return self._request("GET", "accounts")

    def account(self, account_id: str) -> dict[str, Any]:
        return self._request("GET", f"accounts/{account_id}")

    def update_account(self, account_id: str, **settings: Any) -> dict[str, Any]:
        return self._request("POST", f"accounts/{account_id}", settings)

    def deploy_adoption_stack(self, account_id: str) -> dict[str, Any]:
        """The customer deploys the temporary adoption/release stack: a second role, assumable with the
        account's External ID, allowed only to tag WorkSpaces ``PartnerManaged=true`` and to remove that key.
        """
        return self._request("POST", f"accounts/{account_id}/adoption-stack", {"deployed": True})

    def delete_adoption_stack(self, account_id: str) -> dict[str, Any]:
        """The customer deletes the adoption stack: the role goes, its sessions lose every permission."""
        return self._request("DELETE", f"accounts/{account_id}/adoption-stack")

    def set_tag_enforcement(
        self, account_id: str, enabled: bool = True, strict_keys: bool = False
    ) -> dict[str, Any]:
        return self.update_account(account_id, tag_enforcement=enabled, tag_policy_strict_keys=strict_keys)

    def credentials(self) -> list[dict[str, Any]]:
        return self._request("GET", "credentials")

    def expire_credentials(self, *, access_key_id: str | None = None, account_id: str | None = None) -> int:
        """Make assumed-role credentials expire now; their next call gets ExpiredTokenException."""
        body = {"access_key_id": access_key_id, "account_id": account_id}
        return self._request("POST", "credentials/expire", body)["expired"]

    # -------------------------------------------------------------- faults
    def faults(self) -> dict[str, Any]:
        return self._request("GET", "faults")

    def set_faults(self, **config: Any) -> dict[str, Any]:
        """Replace the fault rules. Keys: seed, throttle_rate, error_rate, error_codes, failed_item_rate,
        failed_item_codes, lose_response_rate, latency_ms, late_answer_rate, late_answer_seconds,
        operations={"Op": {same keys}}.
        """
        return self._request("POST", "faults", config)

    def clear_faults(self) -> dict[str, Any]:
        return self._request("DELETE", "faults")

    def schedule_fault(
        self,
        operation: str,
        kind: str,
        *,
        code: str | None = None,
        count: int = 1,
        seconds: float | None = None,
    ) -> dict[str, Any]:
        """The next ``count`` calls of ``operation`` (``"*"``: any WorkSpaces call) get the fault ``kind``:
        throttle, error (with ``code``), lose_response, expired_token, failed_items (with ``code``),
        late_answer (with ``seconds``: the call takes effect and answers that many wall seconds late).
        """
        body = {"operation": operation, "kind": kind, "code": code, "count": count, "seconds": seconds}
        return self._request("POST", "faults/schedule", body)

    def set_rate_limit(self, per_second: float, *, burst: float | None = None) -> dict[str, Any]:
        """AWS's own rate limit: per account and Region, ``per_second`` WorkSpaces calls a second (a
        bucket of ``burst``, default ``per_second``); a call beyond it is answered ThrottlingException.
        0 turns it off. Setting it starts every bucket full and the counts at 0."""
        return self._request("POST", "rate-limit", {"per_second": per_second, "burst": burst})

    def rate_limit(self) -> dict[str, Any]:
        """The limit and, per account, the calls it allowed and throttled."""
        return self._request("GET", "rate-limit")

    # ------------------------------------------------------------ sessions
    def set_connection(self, workspace_id: str, state: str, *, at: datetime | None = None) -> dict[str, Any]:
        """The WorkSpace's user CONNECTED/DISCONNECTED at ``at`` (default: simulated now)."""
        body: dict[str, Any] = {"workspace_id": workspace_id, "state": state}
        if at is not None:
            body["at"] = at.timestamp()
        return self._request("POST", "sessions", body)

    def script_connections(self, workspace_id: str, events: list[tuple[float, str]]) -> dict[str, Any]:
        """A session timeline: ``[(seconds_from_now, "CONNECTED"|"DISCONNECTED"), ...]``."""
        return self._request("POST", "sessions", {"workspace_id": workspace_id, "events": events})

    def workspace(self, workspace_id: str) -> dict[str, Any]:
        """Simulator's view of a WorkSpace (state, tags, account, AutoStoppedAt)."""
        return self._request("GET", f"workspaces/{workspace_id}")

    # --------------------------------------------------------------- calls
    def calls(
        self, operation: str | None = None, *, account_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded calls, oldest first: operation, account_id, region, request (parsed body), status,
        error_code, fault, time. WorkSpaces operations are keyed by name, others as ``service:Action``.
        """
        return self._request("GET", "calls", operation=operation, account_id=account_id, limit=limit)

    def requests(self, operation: str, *, account_id: str | None = None) -> list[dict[str, Any]]:
        """Just the request bodies of ``operation``'s recorded calls."""
        return [record["request"] for record in self.calls(operation, account_id=account_id)]

    def call_counts(self, *, account_id: str | None = None) -> dict[str, int]:
        return self._request("GET", "calls/counts", account_id=account_id)

    def clear_calls(self) -> None:
        self._request("DELETE", "calls")

    # --------------------------------------------------------------- world
    def create_fleet_world(self, count: int, *, region: str = "us-east-1") -> dict[str, Any]:
        """``count`` onboarded customer accounts, shaped like the demo world (benchmarks over many accounts)."""
        return self._request("POST", "fleet-world", {"count": count, "region": region})

    def create_demo_world(self, *, ready: bool = False, region: str = "us-east-1") -> dict[str, Any]:
        """Two customer accounts with VPC, subnets, AD directory and AMIs (see README for the shape)."""
        return self._request("POST", "demo-world", {"ready": ready, "region": region})

    def seed_amis(self, account_id: str, region: str = "us-east-1") -> list[dict[str, Any]]:
        return self._request("POST", "amis", {"account_id": account_id, "region": region})
