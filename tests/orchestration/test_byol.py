"""BYOL account setup (R3): bad input refused before any AWS call (F11), ModifyAccount at most once, its
job followed to COMPLETED or FAILED. The job's steps run here in the test process against the simulator;
tests/integration/test_byol.py runs them through a real worker."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.byol import (
    ByolSetupInvalid,
    byol_cidr_ranges,
    byol_setup_start,
    byol_status_sync,
)
from orchestration.services.jobs import job_items_run, job_poll
from tenants.choices import AccountModificationState, DedicatedTenancySupport
from tenants.models import AwsAccount
from tests.factories import AwsAccountFactory, CustomerFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
FREE = "10.200.0.0/16"


@pytest.fixture
def no_aws_calls(simulator):
    simulator.clear_calls()
    yield
    assert simulator.calls() == []


def _refused(account, **fields) -> dict[str, list[str]]:
    before = (Job.objects.count(), JobItem.objects.count())
    with pytest.raises(ByolSetupInvalid) as excinfo:
        byol_setup_start(actor=ACTOR, aws_account=account, **fields)
    assert (Job.objects.count(), JobItem.objects.count()) == before
    event = AuditEvent.objects.filter(action="ModifyAccount").latest("id")
    assert (event.outcome, event.target_id) == ("REFUSED", account.account_id)
    return excinfo.value.errors


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/8", "is a /8: the BYOL management range must be a /16"),
        ("10.1.0.0/24", "is a /24"),
        ("10.1.2.0/16", "host bits zero"),
        ("8.8.0.0/16", "is not a private range"),
        ("not-a-cidr", "is not a CIDR block"),
        ("", "Choose the /16 management CIDR"),
    ],
)
def test_a_cidr_that_is_not_a_private_16_is_refused_before_any_call(cidr, message, no_aws_calls):
    errors = _refused(AwsAccountFactory(), cidr=cidr, confirmation=cidr)
    assert message in errors["cidr"][0]


def test_the_confirmation_must_repeat_the_cidr_exactly(no_aws_calls):
    errors = _refused(AwsAccountFactory(), cidr=FREE, confirmation="10.201.0.0/16")
    assert errors["confirmation"] == [
        f"Type the CIDR {FREE} again, exactly, to confirm: the management range can never be changed once it is set."
    ]
    assert "confirmation" in _refused(AwsAccountFactory(), cidr=FREE, confirmation="")


def test_a_cidr_that_was_not_offered_is_refused_before_any_call(no_aws_calls):
    errors = _refused(
        AwsAccountFactory(), cidr=FREE, confirmation=FREE, offered_cidrs=["10.1.0.0/16", "10.2.0.0/16"]
    )
    assert errors["cidr"] == [f"{FREE} is not among the ranges AWS offered; choose one of them."]


@pytest.mark.parametrize(
    "fields",
    [
        {"dedicated_tenancy_modification_state": AccountModificationState.COMPLETED},
        {"dedicated_tenancy_modification_state": AccountModificationState.PENDING},
        {"dedicated_tenancy_support": DedicatedTenancySupport.ENABLED},
    ],
)
def test_an_account_already_set_up_or_being_set_up_is_refused_before_any_call(fields, no_aws_calls):
    account = AwsAccountFactory(dedicated_tenancy_management_cidr_range="10.9.0.0/16", **fields)
    errors = _refused(account, cidr=FREE, confirmation=FREE)
    assert "with 10.9.0.0/16; it can never be changed" in errors["aws_account"][0]


@pytest.mark.parametrize(
    ("constraint", "message"),
    [("10.1.0.0/24", "smaller than a /16"), ("100.64.0.0/10", "not a private range")],
)
def test_the_cidr_search_range_is_checked_before_the_call(constraint, message, no_aws_calls):
    with pytest.raises(ByolSetupInvalid) as excinfo:
        byol_cidr_ranges(aws_account=AwsAccountFactory(), constraint=constraint)
    assert message in excinfo.value.errors["constraint"][0]


def test_the_command_refuses_a_mismatched_confirmation_without_calling_aws(no_aws_calls):
    account = AwsAccountFactory()
    with pytest.raises(CommandError, match="Nothing was changed:\n  confirmation: Type the CIDR"):
        call_command(
            "account_byol", "--account", account.account_id, "--cidr", FREE, "--confirm", "10.2.0.0/16"
        )


# --- against the simulator: a customer not yet set up (demo world, not ready) ---------------------------------
@pytest.fixture
def acme(simulator):
    """Acme connected to us: our row, and their role trusting our External ID (they deployed the template)."""
    demo = simulator.create_demo_world(ready=False)["accounts"][0]
    account = AwsAccount.objects.create(
        customer=CustomerFactory(name="Acme", slug="acme"),
        account_id=demo["account_id"],
        role_arn=demo["role_arn"],
        default_region=demo["region"],
        regions=[demo["region"]],
    )
    simulator.update_account(account.account_id, external_id=account.external_id)
    simulator.clear_calls()
    return account


def _counts(simulator) -> dict[str, int]:
    return {op: n for op, n in simulator.call_counts().items() if not op.startswith("sts:")}


def _run(job: Job) -> JobItem:
    item = job.items.get()
    job_items_run(job_id=job.pk, item_ids=[item.pk])
    item.refresh_from_db()
    return item


def _poll(job: Job) -> JobItem:
    # Due now, whatever the poll interval.
    JobItem.objects.filter(job=job, status="WAITING").update(next_poll_at="2000-01-01T00:00:00Z")
    job_poll(job_id=job.pk)
    return job.items.get()


@pytest.mark.slow
def test_setup_sends_modify_account_once_and_follows_it_to_completed(acme, simulator):
    offered = byol_cidr_ranges(aws_account=acme, constraint="10.0.0.0/8")
    assert offered.ranges == ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"]
    assert offered.next_token
    more = byol_cidr_ranges(aws_account=acme, constraint="10.0.0.0/8", next_token=offered.next_token)
    assert "10.10.0.0/16" not in more.ranges  # acme's VPC
    simulator.clear_calls()

    job = byol_setup_start(
        actor=ACTOR,
        aws_account=acme,
        cidr="10.1.0.0/16",
        confirmation="10.1.0.0/16",
        offered_cidrs=offered.ranges,
    )
    assert (job.kind, job.queue, job.total_items) == ("ACCOUNT_BYOL_SETUP", "interactive", 1)
    assert _counts(simulator) == {"DescribeAccountModifications": 1}

    item = _run(job)
    assert item.status == "WAITING"
    assert item.aws_resource_id == "10.1.0.0/16" and item.aws_request_id
    assert simulator.requests("ModifyAccount") == [
        {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": "10.1.0.0/16"}
    ]
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_modification_state == "PENDING"

    assert _poll(job).status == "WAITING"  # AWS takes 10 simulated minutes
    simulator.advance(600)
    assert _poll(job).status == "SUCCEEDED"
    job.refresh_from_db()
    assert job.status == "SUCCEEDED"
    assert job.result == {
        "management_cidr_range": "10.1.0.0/16",
        "dedicated_tenancy_support": "ENABLED",
        "modification_state": "COMPLETED",
    }
    acme.refresh_from_db()
    assert (
        acme.dedicated_tenancy_support,
        acme.dedicated_tenancy_management_cidr_range,
        acme.dedicated_tenancy_modification_state,
    ) == ("ENABLED", "10.1.0.0/16", "COMPLETED")
    assert _counts(simulator) == {"DescribeAccountModifications": 4, "ModifyAccount": 1, "DescribeAccount": 1}
    (event,) = AuditEvent.objects.filter(job=job)
    assert (event.action, event.outcome, event.aws_request_id) == (
        "ModifyAccount",
        "SUCCEEDED",
        item.aws_request_id,
    )


@pytest.mark.slow
def test_a_lost_modify_account_response_is_adopted_never_sent_twice(acme, simulator):
    job = byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE)
    simulator.schedule_fault("ModifyAccount", "lose_response")
    item = _run(job)
    assert (item.status, item.attempts) == ("PENDING", 1)
    assert item.submitted_at is not None  # the change may have been made: the next delivery looks first

    item = _run(job)
    assert (item.status, item.attempts) == ("WAITING", 2)
    assert len(simulator.calls("ModifyAccount")) == 1
    adopted = AuditEvent.objects.get(job=job)
    assert (adopted.outcome, adopted.details["adopted"]) == ("SUCCEEDED", True)
    simulator.advance(600)
    assert _poll(job).status == "SUCCEEDED"
    assert len(simulator.calls("ModifyAccount")) == 1


def test_setup_without_a_shown_list_asks_aws_whether_the_range_is_offered(acme, simulator):
    errors = _refused(acme, cidr="10.10.0.0/16", confirmation="10.10.0.0/16")  # acme's own VPC
    assert "AWS does not offer 10.10.0.0/16" in errors["cidr"][0]
    assert _counts(simulator) == {"DescribeAccountModifications": 1, "ListAvailableManagementCidrRanges": 1}
    assert simulator.requests("ListAvailableManagementCidrRanges") == [
        {"ManagementCidrRangeConstraint": "10.10.0.0/16", "MaxResults": 5}
    ]


@pytest.mark.slow
def test_aws_already_configured_is_refused_and_recorded(acme, simulator):
    job = byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE)
    _run(job)
    AwsAccount.objects.filter(pk=acme.pk).update(dedicated_tenancy_modification_state="")  # our record lags
    acme.refresh_from_db()
    simulator.clear_calls()
    errors = _refused(acme, cidr="10.201.0.0/16", confirmation="10.201.0.0/16")
    assert errors["aws_account"] == [
        f"AWS reports a PENDING BYOL setup with {FREE}; the management CIDR can never be changed."
    ]
    assert _counts(simulator) == {"DescribeAccountModifications": 1}
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_modification_state == "PENDING"


@pytest.mark.slow
def test_a_second_setup_while_one_runs_is_refused(acme, simulator):
    byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE)
    errors = _refused(acme, cidr="10.201.0.0/16", confirmation="10.201.0.0/16")
    assert "is already setting up BYOL" in errors["aws_account"][0]
    assert simulator.calls("ModifyAccount") == []


@pytest.mark.slow
def test_a_failed_modification_fails_the_job_with_aws_words(acme, simulator):
    simulator.update_account(acme.account_id, modify_account_outcome="FAILED")
    job = byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE)
    _run(job)
    simulator.advance(600)
    item = _poll(job)
    assert (item.status, item.error_code) == ("FAILED", "InternalFailure")
    assert "failed" in item.error_message
    job.refresh_from_db()
    assert job.status == "FAILED"
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_modification_state == "FAILED"

    # Our call failed in AWS: a late redelivery reports it instead of trying again on its own.
    JobItem.objects.filter(pk=item.pk).update(status="PENDING", error_code="", finished_at=None)
    Job.objects.filter(pk=job.pk).update(status="RUNNING", finished_at=None)
    assert _run(job).status == "FAILED"
    assert len(simulator.calls("ModifyAccount")) == 1


@pytest.mark.slow
def test_an_account_without_byol_enabled_fails_with_what_to_do(acme, simulator):
    simulator.update_account(acme.account_id, byol_eligible=False)
    job = byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE)
    item = _run(job)
    assert (item.status, item.error_code) == ("FAILED", "AccessDeniedException")
    assert "BYOL is not enabled for this account yet" in item.error_message
    event = AuditEvent.objects.get(job=job)
    assert (event.outcome, event.error_code, event.aws_request_id != "") == (
        "FAILED",
        "AccessDeniedException",
        True,
    )


@pytest.mark.slow
def test_status_sync_reads_describe_account_and_the_modifications(acme, simulator):
    status = byol_status_sync(aws_account=acme)
    assert (status.account.dedicated_tenancy_support, status.modifications, status.blocking) == (
        "DISABLED",
        [],
        None,
    )
    _run(byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE))
    simulator.advance(600)
    status = byol_status_sync(aws_account=acme)
    assert status.blocking.state == "COMPLETED"
    acme.refresh_from_db()
    assert (acme.dedicated_tenancy_support, acme.dedicated_tenancy_management_cidr_range) == ("ENABLED", FREE)


# --- the admin page ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_byol_page_shows_aws_state_offers_ranges_and_starts_the_job(staff_client, acme, simulator):
    url = reverse("admin:tenants_awsaccount_byol", args=[acme.pk])
    page = staff_client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "BYOL has not been set up in this account" in body
    assert 'value="10.0.0.0/16"' in body and "More ranges" in body

    offered = page.context["page"].ranges
    mismatch = staff_client.post(
        url, {"cidr": "10.2.0.0/16", "confirmation": "10.3.0.0/16", "offered": offered}
    )
    assert "Type the CIDR 10.2.0.0/16 again" in mismatch.content.decode()
    assert simulator.calls("ModifyAccount") == [] and Job.objects.count() == 0

    done = staff_client.post(url, {"cidr": "10.2.0.0/16", "confirmation": "10.2.0.0/16", "offered": offered})
    job = Job.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse(
        "admin:orchestration_job_change", args=[job.pk]
    )
    assert job.params["management_cidr_range"] == "10.2.0.0/16"
    assert job.requested_by_label == "staff"


@pytest.mark.slow
def test_the_byol_page_says_when_there_is_nothing_to_set_up(staff_client, acme, simulator):
    _run(byol_setup_start(actor=ACTOR, aws_account=acme, cidr=FREE, confirmation=FREE))
    body = staff_client.get(reverse("admin:tenants_awsaccount_byol", args=[acme.pk])).content.decode()
    assert f"BYOL is PENDING with {FREE}; there is nothing more to set up here." in body
    assert "Enable BYOL with this CIDR" not in body


@pytest.mark.slow
def test_account_byol_command_shows_lists_and_sets_up(acme, simulator, capsys):
    call_command("account_byol", "--account", acme.account_id)
    assert "No account modifications: BYOL has not been set up." in capsys.readouterr().out
    call_command(
        "account_byol",
        "--account",
        acme.account_id,
        "--list-cidrs",
        "--constraint",
        "10.0.0.0/12",
        "--limit",
        "7",
    )
    listed = capsys.readouterr().out.splitlines()
    assert listed[:7] == [f"10.{n}.0.0/16" for n in range(7)] and "more available" in listed[7]
    call_command("account_byol", "--account", acme.account_id, "--cidr", FREE, "--confirm", FREE)
    assert f"enabling BYOL with management CIDR {FREE}" in capsys.readouterr().out
    assert Job.objects.get().requested_by_label == "manage.py account_byol"
