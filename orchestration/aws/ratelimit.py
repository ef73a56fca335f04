"""A token bucket per (account, region) in Redis, shared by every worker process.

Many workers hitting one customer's account at once would throttle it into failure; the bucket spaces
their calls. If Redis cannot be reached the limiter lets calls through (AWS's own throttling and our
backoff still apply) rather than stopping all work.
"""

import logging
import time
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


def acquire(account_id: str, region: str) -> float:
    """Wait for a token for this account and region; returns the seconds spent waiting."""
    rate = settings.AWS_RATE_LIMIT_PER_SECOND
    if rate <= 0:
        return 0.0
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
            return waited
        if wait_ms <= 0 or time.monotonic() >= deadline:
            return waited
        pause = wait_ms / 1000.0
        time.sleep(pause)
        waited += pause
