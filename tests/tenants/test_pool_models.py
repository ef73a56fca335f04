"""Pools: every setting checked with a message naming the field, the capacity schedule picks min and
buffer in the pool's time zone, and PostgreSQL keeps a pool and its desktops inside one tenant."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants.models import PoolDesktop
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
    PowerPolicyFactory,
)
from tests.pool_world import add_desktops, make_pool

pytestmark = pytest.mark.django_db

WEEKDAYS_9_TO_5 = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00", "min": 8, "buffer": 4}


def errors_of(pool) -> dict:
    with pytest.raises(ValidationError) as caught:
        pool.full_clean()
    return caught.value.message_dict


def test_a_valid_pool_passes_and_sizes_out_of_order_are_named():
    pool = make_pool(schedule=[WEEKDAYS_9_TO_5], time_zone="Europe/Berlin")
    pool.full_clean()
    pool.min_size, pool.buffer, pool.max_size = 12, 11, 10
    errors = errors_of(pool)
    assert "above the maximum" in errors["min_size"][0] and "above the maximum" in errors["buffer"][0]


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("weekdays", "list of weekly windows"),
        ([{"days": [0], "start": "09:00", "end": "17:00"}], "exactly: days, start, end, min, buffer"),
        ([{**WEEKDAYS_9_TO_5, "days": [7]}], "0 (Monday) to 6"),
        ([{**WEEKDAYS_9_TO_5, "start": "18:00"}], "must end after it starts"),
        ([{**WEEKDAYS_9_TO_5, "buffer": -1}], "whole number"),
        ([WEEKDAYS_9_TO_5, {**WEEKDAYS_9_TO_5, "days": [4], "start": "16:00", "end": "20:00"}], "overlap"),
    ],
)
def test_a_bad_capacity_schedule_says_what_is_wrong(schedule, words):
    pool = make_pool()
    pool.schedule = schedule
    assert words in " ".join(errors_of(pool)["schedule"])


def test_a_window_above_the_maximum_and_an_unknown_time_zone_are_refused():
    pool = make_pool(max_size=5)
    pool.schedule, pool.time_zone = [WEEKDAYS_9_TO_5], "Mars/Olympus"
    errors = errors_of(pool)
    assert "above the pool's maximum of 5" in errors["schedule"][0]
    assert "Unknown time zone" in errors["time_zone"][0]


def test_capacity_follows_the_window_in_the_pools_time_zone():
    pool = make_pool(schedule=[WEEKDAYS_9_TO_5], time_zone="America/New_York", min_size=1, buffer=1)
    # Monday 13:30 UTC is 08:30 in New York: before the window.
    assert pool.capacity_at(datetime(2026, 11, 30, 13, 30, tzinfo=UTC))[:2] == (1, 1)
    # Monday 14:30 UTC is 09:30 in New York: inside it.
    assert pool.capacity_at(datetime(2026, 11, 30, 14, 30, tzinfo=UTC))[:2] == (8, 4)
    # Saturday: no window.
    assert pool.capacity_at(datetime(2026, 12, 5, 14, 30, tzinfo=UTC))[:2] == (1, 1)


def test_clean_names_each_field_that_crosses_a_tenant():
    pool = make_pool()
    other = AwsAccountFactory(customer=CustomerFactory())
    pool.directory = DirectoryFactory(aws_account=other)
    pool.bundle = BundleFactory(aws_account=other)
    pool.power_policy = PowerPolicyFactory(customer=other.customer)
    errors = errors_of(pool)
    assert {"directory", "bundle", "power_policy"} <= set(errors)


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_the_database_keeps_a_pool_inside_one_tenant():
    pool = make_pool()
    other = AwsAccountFactory(customer=CustomerFactory())
    from tenants.models import Pool

    rows = Pool.objects.filter(pk=pool.pk)
    refused(lambda: rows.update(directory=DirectoryFactory(aws_account=other)))
    refused(lambda: rows.update(bundle=BundleFactory(aws_account=other)))
    refused(lambda: rows.update(customer=other.customer))
    refused(lambda: rows.update(power_policy=PowerPolicyFactory(customer=other.customer)))
    refused(lambda: rows.update(min_size=20, max_size=10))
    stranger = DesktopFactory(aws_account=other)
    refused(lambda: PoolDesktop.objects.create(pool=pool, desktop=stranger, aws_account=other))
    refused(lambda: PoolDesktop.objects.create(pool=pool, desktop=stranger, aws_account=pool.aws_account))


def test_a_user_holds_at_most_one_desktop_of_a_pool():
    pool = make_pool()
    first, second = add_desktops(pool, 2)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    PoolDesktop.objects.filter(pk=first.pk).update(assigned_user="ann", assigned_at=now)
    refused(lambda: PoolDesktop.objects.filter(pk=second.pk).update(assigned_user="ann", assigned_at=now))
