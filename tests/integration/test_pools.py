"""Pools end to end: a real worker and beat, the simulator as AWS. The buffer comes back after
assignments, a schedule window changes the target, and a worker killed mid scale-up makes no extra
desktop."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.workspaces import workspaces_list
from orchestration.models import AuditEvent, Job
from orchestration.services.accounts import account_access
from orchestration.services.pools import pool_assign, pool_counts
from tenants.models import Bundle, Desktop, Image, Pool, PoolDesktop, PoolSample
from tests.integration.stack import SHORT_LEASE

pytestmark = pytest.mark.integration
ACTOR = Actor.system("pool test")
FAST_MANAGER = {"POOL_MANAGE_INTERVAL_SECONDS": "2"}


def _pool(world, **fields) -> Pool:
    return Pool.objects.create(
        customer=world["customer"],
        aws_account=world["aws_account"],
        region=world["directory"].region,
        directory=world["directory"],
        bundle=world["bundle"],
        name="call centre",
        **fields,
    )


def _wait_until(predicate, what: str, stack, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        stack.supervise()
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen in {timeout}s\n{stack.logs()}")


def _warm(pool: Pool, count: int):
    return lambda: pool_counts(pool).warm == count


def _aws_census(world) -> Counter:
    """Live WorkSpaces in AWS per name we gave: the judge of extra desktops."""
    access = account_access(world["aws_account"], region=world["directory"].region)
    return Counter(
        w.workspace_name
        for w in workspaces_list(access, directory_id=world["directory"].directory_id)
        if w.state not in ("TERMINATING", "TERMINATED")
    )


@pytest.mark.timeout(400)
def test_the_buffer_is_restored_after_assignments_and_a_window_raises_the_target(
    stack_factory, customer_account
):
    world = customer_account
    pool = _pool(world, min_size=0, buffer=2, max_size=6)
    stack = stack_factory(FAST_MANAGER).start()
    _wait_until(_warm(pool, 2), "two warm desktops", stack)
    for user in ("ann", "bob"):
        assert pool_assign(actor=ACTOR, pool=pool, user_name=user).status == "assigned"
    _wait_until(lambda: pool_counts(pool).warm == 2 and pool_counts(pool).assigned == 2, "buffer back", stack)
    assert AuditEvent.objects.filter(action="PoolScaleUp", details__reason__icontains="buffer 2").exists()
    # A window from now on raises the buffer to 4: the pool grows to its maximum of 6, and no further.
    today = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(0)).weekday()
    pool.schedule = [{"days": [today], "start": "00:00", "end": "23:59", "min": 0, "buffer": 4}]
    pool.save()
    _wait_until(_warm(pool, 4), "four warm desktops in the window", stack)
    time.sleep(5)  # a few more manager runs: none may go past the maximum
    counts = pool_counts(pool)
    assert counts.size == 6 and counts.assigned == 2
    assert max(PoolSample.objects.filter(pool=pool).values_list("size", flat=True)) <= 6
    census = _aws_census(world)
    assert sum(census.values()) == 6 and max(census.values()) == 1
    assert AuditEvent.objects.filter(
        action="PoolScaleUp", details__reason__icontains="window 00:00–23:59"
    ).exists()


@pytest.mark.timeout(400)
@pytest.mark.chaos
def test_a_worker_killed_during_a_scale_up_makes_no_extra_desktop(stack_factory, customer_account):
    world = customer_account
    pool = _pool(world, min_size=0, buffer=5, max_size=10)
    stack = stack_factory(
        {
            **FAST_MANAGER,
            **SHORT_LEASE,
            "ORCHESTRATION_FAILPOINTS": "pool_manage.before_commit:1,desktop_create.after_create_call:1",
        }
    ).start()
    _wait_until(_warm(pool, 5), "five warm desktops", stack, timeout=240)
    time.sleep(5)
    kills = sum(1 for f in stack.workdir.glob("failpoint-*") if f.read_text())
    assert kills == 2, "a failpoint was not reached: the test proved nothing"
    census = _aws_census(world)
    assert sum(census.values()) == 5 and max(census.values()) == 1, census
    assert Desktop.objects.filter(pool_membership__pool=pool).exclude(state="TERMINATED").count() == 5
    since = timezone.now() - timedelta(minutes=10)
    print(
        f"\nFIGURE pool-kill desktops_in_aws={sum(census.values())} scale_ups={AuditEvent.objects.filter(action='PoolScaleUp', occurred_at__gte=since).count()}"
    )


@pytest.mark.timeout(400)
def test_a_rolling_image_update_never_takes_more_than_max_unavailable_out_of_service(
    stack_factory, customer_account
):
    world = customer_account
    account = world["aws_account"]
    old = Image.objects.create(aws_account=account, region="us-east-1", image_id="wsi-old000001", name="v1")
    new = Image.objects.create(aws_account=account, region="us-east-1", image_id="wsi-new000001", name="v2")
    Bundle.objects.filter(pk=world["bundle"].pk).update(image=old)
    pool = _pool(world, min_size=10, buffer=10, max_size=10, max_unavailable_percent=20)
    stack = stack_factory(FAST_MANAGER).start()
    _wait_until(_warm(pool, 10), "ten warm desktops", stack, timeout=240)
    assert set(PoolDesktop.objects.filter(pool=pool).values_list("image_id", flat=True)) == {old.image_id}
    Bundle.objects.filter(pk=world["bundle"].pk).update(image=new)
    most_out = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        pool.refresh_from_db()
        counts = pool_counts(pool)
        most_out = max(most_out, counts.recycling)
        done = set(PoolDesktop.objects.filter(pool=pool).values_list("image_id", flat=True)) == {new.image_id}
        if done and counts.warm == 10:
            break
        stack.supervise()
        time.sleep(0.2)
    else:
        raise AssertionError(f"the update did not finish: {vars(pool_counts(pool))}\n{stack.logs()}")
    assert 1 <= most_out <= 2, most_out
    assert AuditEvent.objects.filter(action="PoolImageUpdate").count() >= 5
    assert Job.objects.filter(kind="DESKTOP_REBUILD").aggregate(n=Sum("total_items"))["n"] == 10
    print(f"\nFIGURE pool-rolling-update desktops=10 max_unavailable=2 most_out_of_service={most_out}")
