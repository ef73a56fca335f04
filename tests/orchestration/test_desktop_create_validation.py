"""Bad input to bulk desktop creation is refused before any AWS call, with nothing half-made (F11)."""

import pytest
from django.core.management import CommandError, call_command

from orchestration.actors import Actor
from orchestration.models import Job, JobItem
from orchestration.services.desktops import DesktopCreateInvalid, DesktopCreateRequest, desktop_create_bulk
from tenants.models import Desktop
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def world():
    account = AwsAccountFactory()
    return {
        "customer": account.customer,
        "aws_account": account,
        "directory": DirectoryFactory(aws_account=account),
        "bundle": BundleFactory(aws_account=account),
    }


def _refused(**fields) -> dict[str, list[str]]:
    before = (Job.objects.count(), JobItem.objects.count(), Desktop.objects.count())
    with pytest.raises(DesktopCreateInvalid) as excinfo:
        desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**fields))
    assert (Job.objects.count(), JobItem.objects.count(), Desktop.objects.count()) == before
    return excinfo.value.errors


def test_auto_stop_is_refused_with_the_reason(world):
    errors = _refused(**world, count=3, running_mode="AUTO_STOP")
    assert "AUTO_STOP is not available for WorkSpaces Core" in errors["running_mode"][0]


def test_duplicate_user_names_are_named(world):
    errors = _refused(**world, user_names=["alice", "bob", "alice"])
    assert errors["user_names"] == ["Listed more than once: alice."]


def test_users_who_already_have_a_desktop_in_the_directory_are_named(world):
    DesktopFactory(aws_account=world["aws_account"], directory=world["directory"], user_name="carol")
    errors = _refused(**world, user_names=["carol", "dave"])
    assert errors["user_names"] == ["Already have a desktop in this directory: carol."]


def test_a_terminated_desktop_frees_the_user(world):
    DesktopFactory(
        aws_account=world["aws_account"], directory=world["directory"], user_name="erin", state="TERMINATED"
    )
    job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**world, user_names=["erin"]))
    assert job.total_items == 1


def test_directory_and_bundle_of_another_account_are_refused(world):
    other = AwsAccountFactory(customer=world["customer"])
    errors = _refused(
        customer=world["customer"],
        aws_account=world["aws_account"],
        directory=DirectoryFactory(aws_account=other),
        bundle=BundleFactory(aws_account=other),
        count=2,
    )
    assert "is not in AWS account" in errors["directory"][0]
    assert "is not in AWS account" in errors["bundle"][0]


def test_an_account_of_another_customer_is_refused(world):
    errors = _refused(**{**world, "customer": CustomerFactory()}, count=1)
    assert errors["aws_account"] == ["This AWS account belongs to another customer."]


def test_unregistered_directory_is_refused(world):
    world["directory"].state = "REGISTERING"
    world["directory"].save()
    assert "not registered" in _refused(**world, count=1)["directory"][0]


def test_a_directory_or_bundle_aws_no_longer_has_is_refused(world):
    from django.utils import timezone

    for key in ("directory", "bundle"):
        world[key].missing_from_aws_since = timezone.now()
        world[key].save()
    errors = _refused(**world, count=1)
    assert "AWS no longer reports directory" in errors["directory"][0]
    world["directory"].missing_from_aws_since = None
    world["directory"].save()
    assert "AWS no longer reports bundle" in _refused(**world, count=1)["bundle"][0]


def test_names_and_count_together_or_neither_are_refused(world):
    assert "either" in _refused(**world, user_names=["a"], count=2)["user_names"][0]
    assert "either" in _refused(**world)["user_names"][0]


def test_undefined_in_a_name_list_and_bad_names_are_refused(world):
    errors = _refused(**world, user_names=["[UNDEFINED]", "has space inside ok", "bad/slash"])
    assert "[UNDEFINED]" in errors["user_names"][0]
    assert "bad/slash" in errors["user_names"][0]


def test_too_many_desktops_for_one_job_are_refused(world):
    assert "1 to 5000" in _refused(**world, count=5001)["count"][0]


def test_a_valid_request_records_every_desktop_and_item_at_once(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = desktop_create_bulk(actor=ACTOR, request=DesktopCreateRequest(**world, count=60))
    assert job.total_items == 60
    assert JobItem.objects.filter(job=job).count() == 60
    desktops = Desktop.objects.filter(job_items__job=job)
    assert {d.state for d in desktops} == {"REQUESTED"}
    assert {d.user_name for d in desktops} == {"[UNDEFINED]"}
    assert len({d.workspace_name for d in desktops}) == 60
    assert len(callbacks) == 1  # one on-commit hook sends the three batch messages, after commit only


def test_the_command_prints_what_to_fix_and_creates_nothing(world):
    with pytest.raises(CommandError, match="AUTO_STOP is not available"):
        call_command(
            "desktops_create",
            "--account",
            world["aws_account"].account_id,
            "--directory",
            world["directory"].directory_id,
            "--bundle",
            world["bundle"].bundle_id,
            "--count",
            "2",
            "--running-mode",
            "AUTO_STOP",
        )
    assert Desktop.objects.count() == 0


def test_the_command_refuses_an_unknown_account():
    with pytest.raises(CommandError, match="No AWS account 999999999999"):
        call_command(
            "desktops_create",
            "--account",
            "999999999999",
            "--directory",
            "d-1",
            "--bundle",
            "b",
            "--count",
            "1",
        )
