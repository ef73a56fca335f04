"""The token bucket per (account, region), in a real Redis (this test process's own), on a scripted clock.

The clock is scripted so the figures are exact: `time.time` is what the bucket sees, `time.sleep`
moves it forward, and the limiter's answer (seconds waited) is compared, never the wall clock.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from orchestration.aws import ratelimit
from tests.integration.stack import free_port

ROOT = Path(__file__).resolve().parents[3]


class ScriptedClock:
    """time.time / time.monotonic / time.sleep for the limiter: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))  # whole seconds, and waits in binary fractions: exact sums
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    monotonic = time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> ScriptedClock:
    scripted = ScriptedClock()
    monkeypatch.setattr(ratelimit, "time", scripted)
    return scripted


@pytest.fixture
def bucket(settings, test_process_redis):
    """8 calls a second, bursts of 3, in this test process's Redis, emptied before and after."""
    settings.AWS_RATE_LIMIT_PER_SECOND, settings.AWS_RATE_LIMIT_BURST = 8, 3
    settings.AWS_RATE_LIMIT_MAX_WAIT = 30
    settings.AWS_RATE_LIMIT_REDIS_URL = test_process_redis.url
    client = redis.Redis.from_url(test_process_redis.url)
    client.flushdb()
    yield client
    client.flushdb()


def test_a_burst_passes_at_once_and_then_calls_are_spaced_at_the_rate(bucket, clock):
    waits = [ratelimit.acquire("111111111111", "us-east-1") for _ in range(6)]
    assert waits == [0, 0, 0, 0.125, 0.125, 0.125]
    assert bucket.exists("ratelimit:aws:111111111111:us-east-1")


def test_an_idle_bucket_fills_up_to_its_burst_and_no_further(bucket, clock):
    for _ in range(3):
        ratelimit.acquire("111111111111", "us-east-1")
    clock.now += 60  # a minute idle would be 480 tokens, but the bucket holds 3
    waits = [ratelimit.acquire("111111111111", "us-east-1") for _ in range(4)]
    assert waits == [0, 0, 0, 0.125]


def test_each_account_and_region_has_its_own_bucket(bucket, clock):
    for _ in range(3):
        ratelimit.acquire("111111111111", "us-east-1")
    assert ratelimit.acquire("222222222222", "us-east-1") == 0  # another customer: not slowed
    assert ratelimit.acquire("111111111111", "eu-west-1") == 0  # another region: its own limit
    assert ratelimit.acquire("111111111111", "us-east-1") == 0.125


def test_a_caller_is_let_through_rather_than_held_past_the_longest_wait(bucket, clock, settings):
    for _ in range(3):
        ratelimit.acquire("111111111111", "us-east-1")
    settings.AWS_RATE_LIMIT_MAX_WAIT = 0
    assert ratelimit.acquire("111111111111", "us-east-1") == 0
    assert clock.slept == []


def test_a_rate_of_zero_turns_the_limiter_off_without_asking_redis(settings, clock):
    settings.AWS_RATE_LIMIT_PER_SECOND = 0
    settings.AWS_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    assert [ratelimit.acquire("111111111111", "us-east-1") for _ in range(50)] == [0.0] * 50


def test_without_redis_calls_go_through_and_a_warning_says_so(settings, clock, caplog):
    settings.AWS_RATE_LIMIT_PER_SECOND, settings.AWS_RATE_LIMIT_BURST = 10, 1
    settings.AWS_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert [ratelimit.acquire("111111111111", "us-east-1") for _ in range(3)] == [0.0] * 3
    assert clock.slept == []
    assert "rate limiter unavailable" in caplog.text


@pytest.mark.slow
def test_the_bucket_is_shared_by_every_worker_process(bucket, settings, clock):
    """Another process (as another Celery worker would) spends the burst; this one then has to wait."""
    settings.AWS_RATE_LIMIT_PER_SECOND = 0.1  # a token every 10 s: the other process's burst stays spent
    script = (
        "import django, json; django.setup()\n"
        "from orchestration.aws import ratelimit\n"
        "print(json.dumps([ratelimit.acquire('111111111111', 'us-east-1') for _ in range(3)]))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerportal.settings.test",
        "AWS_RATE_LIMIT_REDIS_URL": settings.AWS_RATE_LIMIT_REDIS_URL,
        "AWS_RATE_LIMIT_PER_SECOND": "0.1",
        "AWS_RATE_LIMIT_BURST": "3",
    }
    other = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [0, 0, 0]
    assert bucket.exists("ratelimit:aws:111111111111:us-east-1")
    clock.now = time.time()  # the other process spent its tokens on the real clock
    assert ratelimit.acquire("111111111111", "us-east-1") > 0


def test_within_a_hold_budget_an_empty_bucket_pauses_the_work_and_takes_no_token(bucket, clock):
    budget = ratelimit.HoldBudget(seconds=0.1)
    with ratelimit.holding_at_most(budget):
        for _ in range(3):
            ratelimit.acquire("111111111111", "us-east-1")
        with pytest.raises(ratelimit.RateLimitPause) as paused:
            ratelimit.acquire("111111111111", "us-east-1")  # the next token is 0.125 s off
    assert paused.value.resume_in == 3 / 2 / 8  # half the burst refilled, at 8 a second
    assert budget.requests == 3 and clock.slept == []
    clock.now += 0.125
    assert ratelimit.acquire("111111111111", "us-east-1") == 0  # the pause took no token
    assert ratelimit.current_budget() is None  # and outside the block calls wait as before


def test_a_budget_tells_a_mark_whose_call_was_never_sent(bucket, clock):
    budget = ratelimit.HoldBudget(seconds=0.1)
    with ratelimit.holding_at_most(budget):
        budget.mark([1, 2])
        assert budget.made_nothing() == [1, 2]
        ratelimit.acquire("111111111111", "us-east-1")  # the marked call goes out
        assert budget.made_nothing() == []


def test_a_budget_counts_a_call_aws_throttled_as_having_made_nothing(bucket, clock):
    """AWS executes nothing it throttles: a mark whose only requests since were throttled may go, but not
    once a request that may have acted went out after it."""
    budget = ratelimit.HoldBudget(seconds=0.1)
    with ratelimit.holding_at_most(budget):
        ratelimit.acquire("111111111111", "us-east-1")  # an earlier call, answered
        budget.mark([1, 2])
        ratelimit.acquire("111111111111", "us-east-1")
        ratelimit.note_refused()  # … throttled
        assert budget.made_nothing() == [1, 2]
        ratelimit.acquire("111111111111", "us-east-1")  # the retry, answered
        assert budget.made_nothing() == []
    ratelimit.note_refused()  # outside a budget there is nothing to count


def test_items_found_absent_lose_their_mark_until_they_are_marked_again(bucket, clock):
    budget = ratelimit.HoldBudget(seconds=0.1)
    with ratelimit.holding_at_most(budget):
        budget.mark([1, 2])
        ratelimit.acquire("111111111111", "us-east-1")  # the call for 1 and 2 went out
        budget.found_absent([3, 4])
        assert budget.made_nothing() == [3, 4]
        budget.mark([4, 5])  # 4 is called for again: it may be made now
        assert budget.made_nothing() == [3, 4, 5]
        ratelimit.acquire("111111111111", "us-east-1")
        assert budget.made_nothing() == [3]
