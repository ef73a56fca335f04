"""Deterministic fault injection and the call recorder.

Every decision for the n-th call of an operation is drawn from ``Random(f"{seed}|{operation}|{n}")``,
so the same seed and the same per-operation call order give the same faults, whatever the
interleaving of other operations across threads.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Codes used when a rule does not name its own.
DEFAULT_ERROR_CODES = ("ResourceUnavailableException", "InternalFailure", "ServiceUnavailable")
DEFAULT_FAILED_ITEM_CODES = ("InternalFailure",)
THROTTLE_CODE_BY_SERVICE = {
    "workspaces": "ThrottlingException",
    "sts": "Throttling",
    "ec2": "RequestLimitExceeded",
}
# Fault kinds a test may schedule for the next calls of an operation.
SCHEDULED_KINDS = ("throttle", "error", "lose_response", "expired_token", "failed_items", "late_answer")


@dataclass
class FaultRule:
    """Rates (0..1) and latency for one operation, or for all WorkSpaces operations (``"*"``)."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    error_codes: list[str] = field(default_factory=lambda: list(DEFAULT_ERROR_CODES))
    failed_item_rate: float = 0.0
    failed_item_codes: list[str] = field(default_factory=lambda: list(DEFAULT_FAILED_ITEM_CODES))
    lose_response_rate: float = 0.0
    latency_ms: float = 0.0
    late_answer_rate: float = 0.0  # this fraction of calls is performed and answered late_answer_seconds late
    late_answer_seconds: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        rule = cls(**data)
        for name in (
            "throttle_rate",
            "error_rate",
            "failed_item_rate",
            "lose_response_rate",
            "late_answer_rate",
        ):
            value = getattr(rule, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if float(rule.late_answer_seconds) < 0:
            raise ValueError("late_answer_seconds must be >= 0")
        if rule.late_answer_rate and not rule.late_answer_seconds:
            raise ValueError("late_answer_rate needs late_answer_seconds")
        return rule


@dataclass
class ScheduledFault:
    """A fault for the next ``remaining`` calls of one operation (``"*"``: any WorkSpaces call)."""

    operation: str
    kind: str
    code: str | None = None
    remaining: int = 1
    seconds: float | None = None  # late_answer: how long the call stays in flight


@dataclass
class CallFaults:
    """What the fault plan decided for one call."""

    latency_ms: float = 0.0
    kind: str | None = None  # throttle | error | lose_response | expired_token
    code: str | None = None
    failed_item_rate: float = 0.0
    failed_item_codes: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    # Wall seconds the call stays in flight before it takes effect and answers (the client may time out).
    late_answer_seconds: float = 0.0

    def item_fails(self) -> str | None:
        """Per-item fault for batch operations: the code to fail this item with, or None."""
        if self.failed_item_rate and self.rng.random() < self.failed_item_rate:
            return self.rng.choice(self.failed_item_codes)
        return None


class FaultPlan:
    """Fault rules, scheduled one-shot faults and the per-operation call counters they key on."""

    def __init__(self, seed: int = 0, default: FaultRule | None = None) -> None:
        self.seed = seed
        self.default = default or FaultRule()
        self.per_operation: dict[str, FaultRule] = {}
        self.scheduled: list[ScheduledFault] = []
        self._calls: Counter[str] = Counter()

    def configure(self, data: dict[str, Any]) -> None:
        """Replace the rules: ``{"seed": 1, "throttle_rate": .3, ..., "operations": {"X": {...}}}``."""
        data = dict(data)
        if "seed" in data:
            self.seed = int(data.pop("seed"))
        operations = data.pop("operations", None) or {}
        self.default = FaultRule.from_dict(data)
        self.per_operation = {name: FaultRule.from_dict(rule) for name, rule in operations.items()}
        self._calls.clear()

    def schedule(
        self,
        operation: str,
        kind: str,
        code: str | None = None,
        count: int = 1,
        seconds: float | None = None,
    ) -> None:
        if kind not in SCHEDULED_KINDS:
            raise ValueError(f"kind must be one of {SCHEDULED_KINDS}")
        if kind == "late_answer" and not (seconds and float(seconds) > 0):
            raise ValueError("a late_answer fault needs seconds > 0")
        if count < 1:
            raise ValueError("count must be at least 1")
        self.scheduled.append(
            ScheduledFault(
                operation=operation,
                kind=kind,
                code=code,
                remaining=count,
                seconds=float(seconds) if seconds is not None else None,
            )
        )

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            **asdict(self.default),
            "operations": {name: asdict(rule) for name, rule in self.per_operation.items()},
            "scheduled": [asdict(item) for item in self.scheduled],
        }

    def _rule_for(self, operation: str, service: str) -> FaultRule | None:
        if operation in self.per_operation:
            return self.per_operation[operation]
        # The default rule targets WorkSpaces; other services are faulted only when named.
        return self.default if service == "workspaces" else None

    def _take_scheduled(self, operation: str, service: str) -> ScheduledFault | None:
        for item in self.scheduled:
            matches = item.operation == operation or (item.operation == "*" and service == "workspaces")
            if matches and item.remaining > 0:
                item.remaining -= 1
                if item.remaining == 0:
                    self.scheduled.remove(item)
                return item
        return None

    def decide(self, operation: str, service: str) -> CallFaults:
        index = self._calls[operation]
        self._calls[operation] += 1
        rng = random.Random(f"{self.seed}|{operation}|{index}")
        rule = self._rule_for(operation, service)
        decision = CallFaults(rng=rng)
        if rule is not None:
            decision.latency_ms = rule.latency_ms
            decision.failed_item_rate = rule.failed_item_rate
            decision.failed_item_codes = list(rule.failed_item_codes or DEFAULT_FAILED_ITEM_CODES)
            # Always draw three numbers so one rate's setting does not shift the others' sequence.
            throttle_draw, error_draw, lose_draw = rng.random(), rng.random(), rng.random()
            if throttle_draw < rule.throttle_rate:
                decision.kind = "throttle"
            elif error_draw < rule.error_rate:
                decision.kind = "error"
                decision.code = rng.choice(rule.error_codes or list(DEFAULT_ERROR_CODES))
            elif lose_draw < rule.lose_response_rate:
                decision.kind = "lose_response"
            # Its own stream, so switching late answers on leaves every other draw where it was.
            late_draw = random.Random(f"{self.seed}|{operation}|{index}|late").random()
            if late_draw < rule.late_answer_rate:
                decision.late_answer_seconds = float(rule.late_answer_seconds)
        scheduled = self._take_scheduled(operation, service)
        if scheduled is not None:
            if scheduled.kind == "late_answer":
                decision.late_answer_seconds = float(scheduled.seconds or 0.0)
            elif scheduled.kind == "failed_items":
                decision.failed_item_rate = 1.0
                decision.failed_item_codes = [scheduled.code or DEFAULT_FAILED_ITEM_CODES[0]]
            else:
                decision.kind = scheduled.kind
                decision.code = scheduled.code
        if decision.kind == "throttle":
            decision.code = decision.code or THROTTLE_CODE_BY_SERVICE.get(service, "Throttling")
        if decision.kind == "error" and not decision.code:
            decision.code = "InternalFailure"
        return decision


class AccountRateLimit:
    """AWS's own API rate limit: a token bucket per account and Region, ``per_second`` tokens a second
    up to ``burst``; a WorkSpaces call that finds its bucket empty is answered ThrottlingException.

    Off (``per_second`` 0) until configured. It runs on the wall clock, not the simulated one: clients
    pace their calls by the wall clock. With one Region per account it is a per-account limit.
    """

    def __init__(self) -> None:
        self.configure(0.0)

    def configure(self, per_second: float, burst: float | None = None) -> None:
        if per_second < 0 or (burst is not None and burst < 1):
            raise ValueError("per_second must be >= 0 and burst >= 1")
        self.per_second = float(per_second)
        self.burst = float(burst if burst is not None else max(1.0, per_second))
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (tokens, when) per account/Region
        self.allowed: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def take(self, account_id: str, region: str) -> bool:
        """Spend one token of the account's bucket in this Region; False when there is none."""
        if self.per_second <= 0:
            return True
        now = time.monotonic()
        tokens, since = self.buckets.get((account_id, region), (self.burst, now))
        tokens = min(self.burst, tokens + (now - since) * self.per_second)
        if tokens < 1:
            self.buckets[(account_id, region)] = (tokens, now)
            self.throttled[account_id] += 1
            return False
        self.buckets[(account_id, region)] = (tokens - 1, now)
        self.allowed[account_id] += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "per_second": self.per_second,
            "burst": self.burst,
            "allowed": dict(self.allowed),
            "throttled": dict(self.throttled),
            "throttled_total": sum(self.throttled.values()),
        }


class CallRecorder:
    """Counts every AWS call by operation and keeps the last ``keep`` requests with their outcome."""

    def __init__(self, keep: int = 2000) -> None:
        self.keep = keep
        self.records: deque[dict[str, Any]] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()
        self.counts_by_account: Counter[tuple[str, str]] = Counter()
        self._sequence = 0

    def clear(self) -> None:
        """Forget every call counted and kept, and number the next one 1 again."""
        self.records.clear()
        self.counts.clear()
        self.counts_by_account.clear()
        self._sequence = 0

    def start(self, **record: Any) -> dict[str, Any]:
        self._sequence += 1
        record["sequence"] = self._sequence
        self.counts[record["operation"]] += 1
        self.counts_by_account[(record.get("account_id") or "", record["operation"])] += 1
        self.records.append(record)
        return record

    def query(
        self, operation: str | None = None, account_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        found = [
            record
            for record in self.records
            if (operation is None or record["operation"] == operation)
            and (account_id is None or record.get("account_id") == account_id)
        ]
        return found[-limit:] if limit else found

    def count_summary(self, account_id: str | None = None) -> dict[str, int]:
        if account_id is None:
            return dict(self.counts)
        return {op: n for (account, op), n in self.counts_by_account.items() if account == account_id}
