"""Directory services: the tenancy rule and every bad input refused before any AWS call (F11, R5, S5)."""

import pytest
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.errors import TagGuardRefused
from orchestration.aws.types import AccountAccess
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services import directories as service
from orchestration.services.directories import (
    DirectoryInvalid,
    directory_deregister,
    directory_register,
    directory_required_tenancy,
    directory_set_maintenance_mode,
    directory_set_security_group,
    directory_sync,
)
from tenants.choices import DedicatedTenancySupport, DesktopState
from tests.factories import AwsAccountFactory, DesktopFactory, DirectoryFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]


@pytest.fixture
def no_aws_calls(simulator):
    simulator.clear_calls()
    yield
    assert simulator.calls() == []


@pytest.fixture
def byol_account():
    return AwsAccountFactory(
        dedicated_tenancy_support=DedicatedTenancySupport.ENABLED,
        dedicated_tenancy_management_cidr_range="10.200.0.0/16",
    )


def _register_refused(**fields) -> dict[str, list[str]]:
    before = (Job.objects.count(), JobItem.objects.count())
    with pytest.raises(DirectoryInvalid) as excinfo:
        directory_register(actor=ACTOR, **fields)
    assert (Job.objects.count(), JobItem.objects.count()) == before
    return excinfo.value.errors


def test_byol_accounts_register_dedicated_and_all_others_shared(byol_account):
    assert directory_required_tenancy(aws_account=byol_account) == "DEDICATED"
    assert directory_required_tenancy(aws_account=AwsAccountFactory()) == "SHARED"
    cidr_only = AwsAccountFactory(dedicated_tenancy_management_cidr_range="10.201.0.0/16")
    assert directory_required_tenancy(aws_account=cidr_only) == "DEDICATED"


def test_shared_tenancy_for_a_byol_account_is_refused(byol_account, no_aws_calls):
    errors = _register_refused(
        aws_account=byol_account,
        region="us-east-1",
        directory_id="d-1234567890",
        subnet_ids=SUBNETS,
        tenancy="SHARED",
    )
    assert "must be registered DEDICATED" in errors["tenancy"][0]


def test_dedicated_tenancy_without_byol_is_refused(no_aws_calls):
    errors = _register_refused(
        aws_account=AwsAccountFactory(), region="us-east-1", directory_id="d-1234567890", tenancy="DEDICATED"
    )
    assert "only for BYOL accounts" in errors["tenancy"][0]


@pytest.mark.parametrize(
    ("subnet_ids", "message"),
    [
        (["subnet-0123456789abcdef0"], "Give 2 subnets"),
        ([*SUBNETS, "subnet-0aaaaaaaaaaaaaaaa"], "Give 2 subnets"),
        (["subnet-xyz", SUBNETS[0]], "Not subnet ids: subnet-xyz"),
        ([SUBNETS[0], SUBNETS[0]], "listed twice"),
    ],
)
def test_subnets_are_two_valid_distinct_ids_or_none(subnet_ids, message, no_aws_calls):
    errors = _register_refused(
        aws_account=AwsAccountFactory(),
        region="us-east-1",
        directory_id="d-1234567890",
        subnet_ids=subnet_ids,
    )
    assert any(message in problem for problem in errors["subnet_ids"])


def test_bad_directory_id_and_foreign_region_are_named(no_aws_calls):
    errors = _register_refused(
        aws_account=AwsAccountFactory(), region="eu-west-1", directory_id="corp.example"
    )
    assert "is not a directory id" in errors["directory_id"][0]
    assert "'eu-west-1' is not one of this account's regions" in errors["region"][0]


def test_a_registered_directory_or_one_being_registered_is_refused(no_aws_calls):
    account = AwsAccountFactory()
    registered = DirectoryFactory(aws_account=account, state="REGISTERED")
    errors = _register_refused(aws_account=account, region="us-east-1", directory_id=registered.directory_id)
    assert "already registered" in errors["directory_id"][0]

    job = directory_register(
        actor=ACTOR, aws_account=account, region="us-east-1", directory_id="d-00000000ab"
    )
    errors = _register_refused(aws_account=account, region="us-east-1", directory_id="d-00000000ab")
    assert errors["directory_id"] == [f"Job {job.pk} is registering d-00000000ab already."]

    vanished = DirectoryFactory(
        aws_account=account, state="REGISTERED", missing_from_aws_since=timezone.now()
    )
    assert directory_register(
        actor=ACTOR, aws_account=account, region="us-east-1", directory_id=vanished.directory_id
    )

    other = DirectoryFactory(state="DEREGISTERED")
    errors = _register_refused(aws_account=account, region="us-east-1", directory_id=other.directory_id)
    assert "recorded in another AWS account" in errors["directory_id"][0]


def test_a_valid_registration_is_one_interactive_job_with_the_tenancy_the_rule_gives(
    byol_account, no_aws_calls
):
    job = directory_register(
        actor=ACTOR,
        aws_account=byol_account,
        region="us-east-1",
        directory_id="d-1234567890",
        subnet_ids=SUBNETS,
    )
    assert (job.kind, job.queue, job.total_items) == ("DIRECTORY_REGISTER", "interactive", 1)
    item = job.items.get()
    assert item.params == {
        "aws_account_id": byol_account.account_id,
        "region": "us-east-1",
        "directory_id": "d-1234567890",
        "subnet_ids": SUBNETS,
        "tenancy": "DEDICATED",
    }


def test_deregister_is_refused_while_live_desktops_use_the_directory_and_audited(no_aws_calls):
    directory = DirectoryFactory(tags={"PartnerManaged": "true"})
    DesktopFactory(aws_account=directory.aws_account, directory=directory)
    DesktopFactory(aws_account=directory.aws_account, directory=directory, state=DesktopState.TERMINATED)
    with pytest.raises(DirectoryInvalid) as excinfo:
        directory_deregister(actor=ACTOR, directory=directory)
    assert excinfo.value.errors["directory"] == [
        f"1 live desktops use {directory.directory_id}: terminate them first."
    ]
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.target_id) == (
        "DeregisterWorkspaceDirectory",
        "REFUSED",
        directory.directory_id,
    )
    directory.refresh_from_db()
    assert directory.state == "REGISTERED"


@pytest.mark.parametrize(
    "group", ["sg-123", "sg-0123456789ABCDEF0", "0123456789abcdef0", "sg-0123456789abcdef"]
)
def test_a_malformed_security_group_id_is_refused_and_audited(group, no_aws_calls):
    directory = DirectoryFactory(tags={"PartnerManaged": "true"})
    with pytest.raises(DirectoryInvalid) as excinfo:
        directory_set_security_group(actor=ACTOR, directory=directory, security_group_id=group)
    assert "is not a security group id" in excinfo.value.errors["security_group_id"][0]
    assert AuditEvent.objects.get().outcome == "REFUSED"
    directory.refresh_from_db()
    assert directory.custom_security_group_id == ""


def test_the_tag_guard_refuses_a_directory_recorded_without_our_tag(no_aws_calls):
    directory = DirectoryFactory(tags={"Owner": "customer-it"})
    with pytest.raises(TagGuardRefused):
        directory_set_maintenance_mode(actor=ACTOR, directory=directory, enabled=False)
    with pytest.raises(TagGuardRefused):
        directory_set_security_group(
            actor=ACTOR, directory=directory, security_group_id="sg-0123456789abcdef0"
        )
    events = list(AuditEvent.objects.values_list("action", "outcome", "error_code"))
    assert events == [("ModifyWorkspaceCreationProperties", "REFUSED", "TagGuardRefused")] * 2
    directory.refresh_from_db()
    assert directory.maintenance_mode_enabled is True


def test_maintenance_mode_needs_a_registered_directory(no_aws_calls):
    directory = DirectoryFactory(state="REGISTERING", tags={"PartnerManaged": "true"})
    with pytest.raises(DirectoryInvalid) as excinfo:
        directory_set_maintenance_mode(actor=ACTOR, directory=directory, enabled=False)
    assert excinfo.value.errors["directory"] == [f"{directory.directory_id} is REGISTERING."]


def test_sync_marks_rows_aws_stopped_listing_and_leaves_registrations_in_flight(monkeypatch):
    account = AwsAccountFactory()
    vanished = DirectoryFactory(aws_account=account, state="REGISTERED")
    leaving = DirectoryFactory(aws_account=account, state="DEREGISTERING")
    DirectoryFactory(aws_account=account, state="DEREGISTERED")
    directory_register(actor=ACTOR, aws_account=account, region="us-east-1", directory_id="d-00000000cd")
    in_flight = DirectoryFactory(aws_account=account, state="REGISTERING", directory_id="d-00000000cd")
    monkeypatch.setattr(service.aws_directories, "directories_list", lambda access: iter([]))

    access = AccountAccess(account_id=account.account_id, region="us-east-1", auth_mode="ASSUME_ROLE")
    report = directory_sync(aws_account=account, region="us-east-1", access=access)

    assert report["missing"] == [vanished.directory_id]
    assert report["deregistered"] == [leaving.directory_id]
    vanished.refresh_from_db()
    leaving.refresh_from_db()
    in_flight.refresh_from_db()
    assert vanished.missing_from_aws_since is not None and vanished.state == "REGISTERED"
    assert leaving.state == "DEREGISTERED" and leaving.missing_from_aws_since is None
    assert in_flight.missing_from_aws_since is None
