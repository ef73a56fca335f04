"""An onboarded customer in the simulator, for integration tests and benchmarks alike."""

from datetime import timedelta
from typing import Any

import boto3
from django.utils import timezone

from orchestration.aws.types import Workspace, WorkspaceSpec
from orchestration.aws.workspaces import workspaces_create_batch
from orchestration.services.accounts import account_access
from partnerportal.devstack import demo_account_connect
from tenants.models import Bundle, Customer, Desktop, Directory

# AWS's resources move 600 times faster than the wall clock (20 minutes of provisioning in 2 s), the
# simulated clock itself only 10 times: an assumed role's hour then lasts 6 minutes of a test instead of 6
# seconds, so a test on a loaded machine is not refused with ExpiredToken midway (F9 tests that on purpose).
AWS_TIME_SCALE = 10
AWS_SPEEDUP = 600
# Left as AWS has them: periods tests reach with simulator.advance(), and how long a terminated
# WorkSpace stays visible (a test looks at it after the job that terminated it).
UNSCALED_DURATIONS = frozenset({"snapshot_interval", "manual_idle_stop", "terminated_visible"})


def aws_runs_fast(simulator) -> None:
    """Resources at AWS_SPEEDUP times the wall clock, credentials at AWS_TIME_SCALE times (see above)."""
    simulator.set_time_scale(AWS_TIME_SCALE)
    shorten = AWS_TIME_SCALE / AWS_SPEEDUP
    simulator.set_durations(
        **{
            name: seconds * shorten
            for name, seconds in simulator.durations().items()
            if name not in UNSCALED_DURATIONS
        }
    )


def onboard_demo_customer(
    simulator, *, name: str, slug: str, demo_index: int = 0, world: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A customer whose simulated AWS account trusts our role with our External ID, already onboarded:
    BYOL done, a DEDICATED directory registered, an imported image and a bundle, all tagged.

    `demo_index` picks the demo world's account (0 acme, 1 globex); pass the first call's `world` to
    onboard a second customer into the same simulated world."""
    world = world or simulator.create_demo_world(ready=True)
    demo = world["accounts"][demo_index]
    customer = Customer.objects.create(name=name, slug=slug)
    account = demo_account_connect(simulator=simulator, customer=customer, demo=demo)
    directory = Directory.objects.create(
        aws_account=account,
        region=demo["region"],
        directory_id=demo["directory_id"],
        state="REGISTERED",
        tenancy="DEDICATED",
    )
    bundle = Bundle.objects.create(
        aws_account=account,
        region=demo["region"],
        bundle_id=demo["bundle_id"],
        name=slug,
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=50,
    )
    return {
        "customer": customer,
        "aws_account": account,
        "directory": directory,
        "bundle": bundle,
        "demo": demo,
        "world": world,
    }


def onboard_fleet_customers(simulator, count: int) -> list[dict[str, Any]]:
    """`count` onboarded customers, each in a simulated account of its own (fleet-001 …): for sweeps and
    benchmarks over many accounts."""
    customers: list[dict[str, Any]] = []
    for start in range(0, count, 10):  # ten accounts a control call, well inside its timeout
        world = simulator.create_fleet_world(min(10, count - start))
        customers.extend(
            onboard_demo_customer(simulator, name=demo["name"], slug=demo["name"], demo_index=i, world=world)
            for i, demo in enumerate(world["accounts"])
        )
    return customers


def make_available_desktops(world: dict[str, Any], count: int) -> list[Desktop]:
    """`count` MANUAL WorkSpaces made straight through the boundary (25 a call, no job), mirrored in our
    rows as AVAILABLE for two hours: a large fleet, fast, for sweeps and benchmarks. The simulator's
    provisioning duration decides when AWS reports them AVAILABLE (set it to 0 first)."""
    prefix = f"b{Desktop.objects.count()}-"
    access = account_access(world["aws_account"], region=world["directory"].region)
    made: list[Workspace] = []
    for start in range(0, count, 25):
        specs = [
            WorkspaceSpec(
                directory_id=world["directory"].directory_id,
                user_name=f"{prefix}{n:05d}",
                bundle_id=world["bundle"].bundle_id,
                workspace_name=f"{prefix}{n:05d}",
                running_mode="MANUAL",
            )
            for n in range(start, min(count, start + 25))
        ]
        made.extend(workspaces_create_batch(access, specs).created.values())
    since = timezone.now() - timedelta(hours=2)
    return Desktop.objects.bulk_create(
        Desktop(
            aws_account=world["aws_account"],
            region=world["directory"].region,
            directory=world["directory"],
            bundle=world["bundle"],
            workspace_id=w.workspace_id,
            user_name=w.user_name,
            workspace_name=w.workspace_name,
            state="AVAILABLE",
            state_changed_at=since,
            running_mode="MANUAL",
            tags={"PartnerManaged": "true"},
        )
        for w in made
    )


def admin_client(simulator, demo: dict, service: str = "workspaces"):
    """The customer's own admin, acting behind our back (no tag policy applies to them)."""
    return boto3.client(
        service,
        endpoint_url=simulator.endpoint_url,
        region_name=demo["region"],
        aws_access_key_id=demo["admin_access_key_id"],
        aws_secret_access_key=demo["admin_secret_access_key"],
    )
