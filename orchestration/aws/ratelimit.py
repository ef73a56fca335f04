"""A token bucket per (account, region) in Redis, shared by every worker process.

Many workers hitting one customer's account at once would throttle it into failure; the bucket spaces
their calls. If Redis cannot be reached the limiter lets calls through (AWS's own throttling and our
backoff still apply) rather than stopping all work.
"""

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: rate per second, burst, now (ms). Returns ms to wait (0: a token was taken).
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000.0)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000.0 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000.0 / rate) + 1000)
return wait
"""  # noqa: S105 - a Lua script; the "tokens" are the bucket's, not secrets


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@dataclass
class HoldBudget:
    """How long the work running now may hold its worker process waiting for one token (`seconds`), and
    what it did meanwhile: `requests` let through, `refused` of them answered by AWS with a refusal that
    executed nothing (throttled), the item ids of its last `submitted` mark with the count of requests
    that may have acted when it was made, and items found to have nothing in AWS (the engine's
    bookkeeping, see `mark` and `found_absent`)."""

    seconds: float
    requests: int = 0
    refused: int = 0
    marked: tuple[list[int], int] = field(default_factory=lambda: ([], 0))
    absent: set[int] = field(default_factory=set)

    def may_have_acted(self) -> int:
        """Requests let through that AWS may have carried out."""
        return self.requests - self.refused

    def mark(self, item_ids: list[int]) -> None:
        self.marked = (item_ids, self.may_have_acted())
        self.absent.difference_update(item_ids)  # called again: what was absent may now be made

    def found_absent(self, item_ids: list[int]) -> None:
        """These items' calls made nothing in AWS (looked for and not found after they could have)."""
        self.absent.update(item_ids)

    def made_nothing(self) -> list[int]:
        """Items whose `submitted` mark may go, as nothing of theirs is in AWS: the last mark's items if
        no request that may have acted went out since it (never sent, or only throttled), and those
        found absent."""
        item_ids, acted_then = self.marked
        unsent = set(self.absent)
        if acted_then == self.may_have_acted():
            unsent.update(item_ids)
        return sorted(unsent)


class RateLimitPause(Exception):  # noqa: N818 - a pause, not an error: the work goes on later
    """The account's bucket would hold this worker process longer than its budget: nothing was sent, and
    the work should come back in `resume_in` seconds, leaving the process to other accounts' work."""

    def __init__(self, account_id: str, region: str, resume_in: float) -> None:
        super().__init__(f"rate limit of {account_id} in {region}: resume in {resume_in:.2f}s")
        self.account_id, self.region, self.resume_in = account_id, region, resume_in

    def come_back_in(self) -> float:
        """`resume_in`, spread by up to half again: work paused at one moment does not all come back at once."""
        return self.resume_in * random.uniform(1.0, 1.5)  # noqa: S311 - spreading, not a secret


_budget: ContextVar[HoldBudget | None] = ContextVar("rate_limit_hold_budget", default=None)


@contextmanager
def holding_at_most(budget: HoldBudget) -> Iterator[HoldBudget]:
    """Within this block a token further off than `budget.seconds` raises RateLimitPause, not a wait."""
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def current_budget() -> HoldBudget | None:
    return _budget.get()


def acquire(account_id: str, region: str) -> float:
    """Wait for a token for this account and region; returns the seconds spent waiting.

    Inside `holding_at_most`, a wait longer than the budget raises RateLimitPause instead (no token is
    taken); its `resume_in` is the time the bucket takes to refill half its burst, so the work that
    comes back then finds several calls' worth, not one.
    """
    budget = _budget.get()
    rate = settings.AWS_RATE_LIMIT_PER_SECOND
    if rate <= 0:
        return _let_through(budget, 0.0)
    burst = settings.AWS_RATE_LIMIT_BURST
    key = f"ratelimit:aws:{account_id}:{region}"
    waited = 0.0
    deadline = time.monotonic() + settings.AWS_RATE_LIMIT_MAX_WAIT
    client = _client(settings.AWS_RATE_LIMIT_REDIS_URL)
    while True:
        try:
            wait_ms = int(client.eval(_BUCKET_SCRIPT, 1, key, rate, burst, int(time.time() * 1000)))
        except redis.RedisError as exc:
            logger.warning("rate limiter unavailable, letting the call through: %s", exc)
            return _let_through(budget, waited)
        if wait_ms <= 0 or time.monotonic() >= deadline:
            return _let_through(budget, waited)
        pause = wait_ms / 1000.0
        if budget is not None and pause > budget.seconds:
            raise RateLimitPause(account_id, region, resume_in=max(pause, burst / 2 / rate))
        time.sleep(pause)
        waited += pause


def note_refused() -> None:
    """The request just answered was refused by AWS and executed nothing (throttled): the work running now
    may count it as never sent."""
    budget = _budget.get()
    if budget is not None:
        budget.refused += 1


def _let_through(budget: HoldBudget | None, waited: float) -> float:
    if budget is not None:
        budget.requests += 1
    return waited
