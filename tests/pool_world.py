"""Pools for tests: a pool in a customer's account and desktops that belong to it."""

from django.utils import timezone

from tenants.choices import UNDEFINED_USER, DesktopState
from tenants.models import Desktop, Pool, PoolDesktop
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
)


def make_pool(account=None, **fields) -> Pool:
    account = account or AwsAccountFactory(customer=CustomerFactory())
    directory = fields.pop("directory", None) or DirectoryFactory(aws_account=account)
    bundle = fields.pop("bundle", None) or BundleFactory(aws_account=account)
    values = {
        "customer": account.customer,
        "aws_account": account,
        "region": "us-east-1",
        "directory": directory,
        "bundle": bundle,
        "name": f"pool-{Pool.objects.count() + 1}",
        "min_size": 0,
        "max_size": 10,
        "buffer": 2,
        **fields,
    }
    return Pool.objects.create(**values)


def add_desktops(
    pool: Pool, count: int, *, state: str = DesktopState.AVAILABLE, **member
) -> list[PoolDesktop]:
    """`count` user-decoupled desktops of the pool, tagged as ours, in `state`."""
    desktops = [
        DesktopFactory(
            aws_account=pool.aws_account,
            directory=pool.directory,
            bundle=pool.bundle,
            region=pool.region,
            user_name=UNDEFINED_USER,
            state=state,
            running_mode=pool.running_mode,
            tags={"PartnerManaged": "true"},
            state_changed_at=timezone.now(),
        )
        for _ in range(count)
    ]
    return PoolDesktop.objects.bulk_create(
        PoolDesktop(pool=pool, desktop=d, aws_account_id=pool.aws_account_id, **member) for d in desktops
    )


def states(pool: Pool) -> dict[str, int]:
    counted: dict[str, int] = {}
    for state in Desktop.objects.filter(pool_membership__pool=pool).values_list("state", flat=True):
        counted[state] = counted.get(state, 0) + 1
    return counted
