"""BYOL account setup end to end: a real worker and beat, Redis, PostgreSQL and the simulator server.

ModifyAccount is sent exactly once even when its response is lost or the worker dies right after it.
"""

import pytest

from orchestration.actors import Actor
from orchestration.models import AuditEvent, JobItem
from orchestration.services.byol import byol_cidr_ranges, byol_setup_start
from orchestration.services.onboarding import account_verify
from tenants.models import AwsAccount, Customer
from tests.integration.conftest import wait_for_job
from tests.integration.stack import SHORT_LEASE
from tests.integration.world import aws_runs_fast

pytestmark = pytest.mark.integration
ACTOR = Actor.system("test")
CIDR = "10.1.0.0/16"


@pytest.fixture
def acme(transactional_db, simulator):
    """Acme, not yet set up, connected to us (their role trusts our External ID); time runs 600x."""
    demo = simulator.create_demo_world(ready=False)["accounts"][0]
    account = AwsAccount.objects.create(
        customer=Customer.objects.create(name="Acme", slug="acme"),
        account_id=demo["account_id"],
        role_arn=demo["role_arn"],
        default_region=demo["region"],
        regions=[demo["region"]],
    )
    simulator.update_account(account.account_id, external_id=account.external_id)
    aws_runs_fast(simulator)  # ModifyAccount's 10 simulated minutes pass in one second
    simulator.clear_calls()
    return account


def _start(account: AwsAccount):
    offered = byol_cidr_ranges(aws_account=account, constraint="10.0.0.0/8").ranges
    assert CIDR in offered
    return byol_setup_start(
        actor=ACTOR, aws_account=account, cidr=CIDR, confirmation=CIDR, offered_cidrs=offered
    )


def _workspaces_counts(simulator) -> dict[str, int]:
    return dict(sorted((op, n) for op, n in simulator.call_counts().items() if not op.startswith("sts:")))


def test_byol_setup_runs_to_completed_with_one_modify_account(stack_factory, acme, simulator):
    stack = stack_factory().start()
    job = wait_for_job(_start(acme), stack)

    assert job.status == "SUCCEEDED", job.items.get().error_message
    assert simulator.requests("ModifyAccount") == [
        {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": CIDR}
    ]
    acme.refresh_from_db()
    assert (
        acme.dedicated_tenancy_support,
        acme.dedicated_tenancy_management_cidr_range,
        acme.dedicated_tenancy_modification_state,
    ) == ("ENABLED", CIDR, "COMPLETED")
    assert job.result["modification_state"] == "COMPLETED"
    (event,) = AuditEvent.objects.filter(job=job)
    assert (event.action, event.outcome) == ("ModifyAccount", "SUCCEEDED") and event.aws_request_id
    # What AWS now says, read back through a fresh verification.
    assert account_verify(actor=ACTOR, aws_account=acme).management_cidr_range == CIDR
    counts = _workspaces_counts(simulator)
    print(f"\nFIGURE byol_setup calls={counts}")


def test_a_lost_modify_account_response_is_never_sent_twice(stack_factory, acme, simulator):
    simulator.schedule_fault("ModifyAccount", "lose_response")
    stack = stack_factory().start()
    job = wait_for_job(_start(acme), stack)

    assert job.status == "SUCCEEDED", job.items.get().error_message
    calls = simulator.calls("ModifyAccount")
    assert [c["fault"] for c in calls] == ["lose_response"]
    item = JobItem.objects.get(job=job)
    assert item.attempts == 2
    assert AuditEvent.objects.get(job=job).details["adopted"] is True
    print(f"\nFIGURE byol_lost_response ModifyAccount={len(calls)} deliveries={item.attempts}")


def test_a_worker_killed_after_modify_account_returned_does_not_send_it_again(stack_factory, acme, simulator):
    stack = stack_factory(
        {"ORCHESTRATION_FAILPOINTS": "byol_setup.after_modify_call:1", **SHORT_LEASE}
    ).start()
    job = wait_for_job(_start(acme), stack)

    assert job.status == "SUCCEEDED", job.items.get().error_message
    assert len(simulator.calls("ModifyAccount")) == 1
    assert JobItem.objects.get(job=job).attempts == 2
    print(f"\nFIGURE byol_worker_killed ModifyAccount=1 restarts={stack.restarts}")


def test_a_modification_aws_fails_fails_the_job_with_aws_code(stack_factory, acme, simulator):
    simulator.update_account(acme.account_id, modify_account_outcome="FAILED")
    stack = stack_factory().start()
    job = wait_for_job(_start(acme), stack)

    assert job.status == "FAILED"
    item = JobItem.objects.get(job=job)
    assert (item.error_code, item.error_message) == (
        "InternalFailure",
        "The BYOL account modification failed; try again.",
    )
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_modification_state == "FAILED"
    assert len(simulator.calls("ModifyAccount")) == 1
