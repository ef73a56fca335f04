"""The onboarding wizard: where it resumes comes from the rows alone, an account awaiting its role never
reaches AWS, and each page keeps what was typed when a step is refused."""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.choices import JobKind, JobStatus
from orchestration.engine.jobs import NewItem
from orchestration.engine.runner import job_deliver
from orchestration.models import AuditEvent, JobItem
from orchestration.services.accounts import AccountAwaitingRole, account_access
from orchestration.services.desktops import DesktopCreateInvalid, DesktopCreateRequest, desktop_create_bulk
from orchestration.services.directories import DirectoryRegisterRunner
from orchestration.services.onboarding import account_verify
from partnerportal.staff.onboarding import Step, account_step, wizard_position
from tenants.choices import VerificationStatus
from tenants.models import AwsAccount, Customer, StaffCustomerLimit
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DirectoryFactory,
    ImageFactory,
    JobFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _awaiting(**fields) -> AwsAccount:
    return AwsAccountFactory(role_arn="", **fields)


def _verified(**fields) -> AwsAccount:
    return AwsAccountFactory(verification_status=VerificationStatus.VERIFIED, **fields)


# --- where the wizard resumes --------------------------------------------------------------------------
def test_an_account_saved_without_a_role_resumes_at_the_role_arn_with_its_external_id():
    account = _awaiting()
    assert account.external_id.startswith("wsc-") and account.awaiting_role
    assert account_step(account) is Step.ROLE


def test_a_role_arn_not_yet_verified_resumes_at_verify():
    assert account_step(AwsAccountFactory()) is Step.VERIFY
    assert account_step(AwsAccountFactory(verification_status=VerificationStatus.FAILED)) is Step.VERIFY


def test_verified_without_byol_decided_resumes_at_byol():
    assert account_step(_verified()) is Step.BYOL


def test_byol_set_up_or_skipped_resumes_at_the_directory():
    configured = _verified(
        dedicated_tenancy_support="ENABLED", dedicated_tenancy_management_cidr_range="10.200.0.0/16"
    )
    skipped = _verified(byol_skipped_at=timezone.now())
    assert account_step(configured) is Step.DIRECTORY and account_step(skipped) is Step.DIRECTORY


def test_a_directory_still_registering_keeps_the_directory_step():
    account = _verified(byol_skipped_at=timezone.now())
    DirectoryFactory(aws_account=account, state="REGISTERING")
    assert account_step(account) is Step.DIRECTORY
    DirectoryFactory(aws_account=account, state="REGISTERED")
    assert account_step(account) is Step.IMAGE


def test_then_image_bundle_desktops_and_done_each_from_their_rows():
    account = _verified(byol_skipped_at=timezone.now())
    DirectoryFactory(aws_account=account)
    ImageFactory(aws_account=account, state="PENDING")
    assert account_step(account) is Step.IMAGE
    image = ImageFactory(aws_account=account)
    assert account_step(account) is Step.BUNDLE
    BundleFactory(aws_account=account, image=image)
    assert account_step(account) is Step.DESKTOPS
    # Another account's create job does not count; this account's does.
    JobFactory(
        kind=JobKind.DESKTOP_CREATE, customer=account.customer, params={"aws_account_id": "999999999999"}
    )
    assert account_step(account) is Step.DESKTOPS
    job = JobFactory(
        kind=JobKind.DESKTOP_CREATE, customer=account.customer, params={"aws_account_id": account.account_id}
    )
    assert account_step(account) is Step.DONE
    position = wizard_position(account)
    assert position.job == job and position.job_running


def test_a_running_step_job_is_what_the_step_shows():
    account = _verified()
    job = JobFactory(
        kind=JobKind.ACCOUNT_BYOL_SETUP,
        customer=account.customer,
        params={"aws_account_id": account.account_id},
        status=JobStatus.RUNNING,
    )
    position = wizard_position(account)
    assert (position.shown, position.job, position.job_running) == (Step.BYOL, job, True)
    assert [state for _, _, state in position.steps()][:6] == ["done"] * 5 + ["current"]


def test_only_the_template_may_be_looked_at_again():
    account = _verified()
    assert wizard_position(account, "template").shown is Step.TEMPLATE
    assert wizard_position(account, "desktops").shown is Step.BYOL  # not skipped ahead by a URL


# --- an account awaiting its role never reaches AWS -----------------------------------------------------
def test_the_aws_boundary_refuses_an_account_awaiting_its_role():
    account = _awaiting()
    with pytest.raises(AccountAwaitingRole) as refused:
        account_access(account)
    assert (
        "has no role ARN yet" in refused.value.message and "Nothing was sent to AWS" in refused.value.message
    )


def test_verifying_it_says_what_is_missing_and_calls_nothing(simulator):
    account = _awaiting()
    result = account_verify(actor=ACTOR, aws_account=account)
    assert not result.ok and "has no role ARN yet" in result.message
    account.refresh_from_db()
    assert account.verification_status == VerificationStatus.UNVERIFIED
    event = AuditEvent.objects.get(action="VerifyConnection")
    assert (event.outcome, event.error_code) == ("REFUSED", "AccountAwaitingRole")
    assert simulator.calls() == []


def test_the_database_never_holds_it_verified():
    account = _awaiting()
    with pytest.raises(IntegrityError), transaction.atomic():
        AwsAccount.objects.filter(pk=account.pk).update(verification_status=VerificationStatus.VERIFIED)


def test_creating_desktops_for_it_is_refused_before_anything_is_recorded():
    account = _awaiting()
    directory = DirectoryFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)
    request = DesktopCreateRequest(
        customer=account.customer, aws_account=account, directory=directory, bundle=bundle, count=2
    )
    with pytest.raises(DesktopCreateInvalid) as refused:
        desktop_create_bulk(actor=ACTOR, request=request)
    assert "has no role ARN yet" in " ".join(refused.value.errors["aws_account"])


def test_a_job_that_reaches_the_engine_fails_its_item_with_the_reason_and_calls_nothing(simulator):
    account = _awaiting()
    params = {"aws_account_id": account.account_id, "region": "us-east-1", "directory_id": "d-1234567890"}
    job = DirectoryRegisterRunner.job_create(
        actor=ACTOR, customer=account.customer, params=params, items=[NewItem(params=params)]
    )
    job_deliver(DirectoryRegisterRunner, job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    item = JobItem.objects.get(job=job)
    assert item.status == "FAILED" and item.error_code == "AccountAwaitingRole"
    assert "has no role ARN yet" in item.error_message
    assert simulator.calls() == []


# --- the pages -------------------------------------------------------------------------------------------
def test_a_new_customer_then_its_account_is_saved_awaiting_its_role(staff_client):
    page = staff_client.get(reverse("admin:tenants_awsaccount_onboard_start"))
    assert page.status_code == 200 and b"Onboard a customer" in page.content
    answer = staff_client.post(reverse("admin:tenants_awsaccount_onboard_start"), {"new_name": "Initech Ltd"})
    customer = Customer.objects.get(name="Initech Ltd")
    assert customer.slug == "initech-ltd"
    assert answer.url == reverse("admin:tenants_awsaccount_onboard_account", args=[customer.pk])
    answer = staff_client.post(answer.url, {"account_id": "123456789012", "default_region": "eu-west-1"})
    account = AwsAccount.objects.get(account_id="123456789012")
    assert account.awaiting_role and account.regions == ["eu-west-1"] and account.customer == customer
    assert answer.url.endswith(f"/{account.pk}/onboard/?step=template")
    page = staff_client.get(answer.url).content.decode()
    assert (
        account.external_id in page
        and reverse("admin:tenants_awsaccount_template", args=[account.pk]) in page
    )
    assert "eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1" in page
    # Left and come back: the rows say it waits for the role ARN.
    page = staff_client.get(reverse("admin:tenants_awsaccount_onboard", args=[account.pk])).content.decode()
    assert 'data-step="role"' in page and account.external_id in page


def test_a_bad_account_id_or_customer_keeps_what_was_typed(staff_client):
    CustomerFactory(name="Acme")
    page = staff_client.post(reverse("admin:tenants_awsaccount_onboard_start"), {"new_name": "acme"})
    assert b"A customer called acme exists already" in page.content and b'value="acme"' in page.content
    customer = CustomerFactory()
    url = reverse("admin:tenants_awsaccount_onboard_account", args=[customer.pk])
    page = staff_client.post(url, {"account_id": "12345", "name": "Prod", "default_region": "us-east-1"})
    assert b"exactly 12 digits" in page.content and b'value="Prod"' in page.content
    assert not AwsAccount.objects.exists()


def test_a_role_arn_of_another_account_is_refused_and_kept(staff_client):
    account = _awaiting()
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    wrong = "arn:aws:iam::999999999999:role/WorkSpacesCorePartnerRole"
    page = staff_client.post(url, {"step": "role", "role_arn": wrong})
    assert b"names another account" in page.content and wrong.encode() in page.content
    account.refresh_from_db()
    assert account.awaiting_role
    right = f"arn:aws:iam::{account.account_id}:role/WorkSpacesCorePartnerRole"
    assert staff_client.post(url, {"step": "role", "role_arn": right}).status_code == 302
    account.refresh_from_db()
    assert account.role_arn == right and account_step(account) is Step.VERIFY


def test_a_post_for_a_step_already_done_changes_nothing(staff_client):
    account = _verified()
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    answer = staff_client.post(url, {"step": "role", "role_arn": ""})
    assert answer.status_code == 302
    account.refresh_from_db()
    assert account.role_arn != ""


def test_skipping_byol_is_saved_and_the_wizard_moves_to_the_directory(staff_client):
    account = _verified()
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    assert staff_client.post(url, {"step": "byol", "skip": "1"}).status_code == 302
    account.refresh_from_db()
    assert account.byol_skipped_at is not None and account_step(account) is Step.DIRECTORY


def test_the_wizard_is_linked_from_home_and_the_customers_and_accounts_lists(staff_client):
    start = reverse("admin:tenants_awsaccount_onboard_start")
    for page in ("admin:index", "admin:tenants_customer_changelist", "admin:tenants_awsaccount_changelist"):
        assert f'href="{start}"' in staff_client.get(reverse(page)).content.decode(), page


def test_while_a_steps_job_runs_the_page_is_told_to_move_on_only_when_the_rows_say_so(staff_client):
    account = _verified()
    job = JobFactory(
        kind=JobKind.ACCOUNT_BYOL_SETUP,
        customer=account.customer,
        params={"aws_account_id": account.account_id},
        status=JobStatus.RUNNING,
    )
    moved = reverse("admin:tenants_awsaccount_onboard_moved", args=[account.pk])
    page = staff_client.get(reverse("admin:tenants_awsaccount_onboard", args=[account.pk])).content.decode()
    assert f'hx-get="{moved}?from=byol" hx-trigger="every 2s"' in page
    assert reverse("admin:orchestration_job_progress", args=[job.pk]) in page
    answer = staff_client.get(moved, {"from": "byol"})
    assert answer.status_code == 204 and "HX-Redirect" not in answer
    AwsAccount.objects.filter(pk=account.pk).update(
        dedicated_tenancy_support="ENABLED", dedicated_tenancy_management_cidr_range="10.9.0.0/16"
    )
    type(job).objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    answer = staff_client.get(moved, {"from": "byol"})
    assert answer["HX-Redirect"] == reverse("admin:tenants_awsaccount_onboard", args=[account.pk])


def test_the_first_desktops_step_offers_only_this_accounts_directory_and_bundles(staff_client):
    account = _verified(byol_skipped_at=timezone.now())
    directory = DirectoryFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)
    other = AwsAccountFactory(customer=account.customer)
    stranger = BundleFactory(aws_account=other)
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    page = staff_client.get(url).content.decode()
    assert 'data-step="desktops"' in page and bundle.bundle_id in page and stranger.bundle_id not in page
    # The account is held by the page: a posted other account or bundle is refused, nothing recorded.
    data = {"step": "desktops", "directory": directory.pk, "bundle": stranger.pk, "count": 2}
    page = staff_client.post(url, {**data, "aws_account": other.pk}).content.decode()
    assert "Select a valid choice" in page
    assert not JobItem.objects.exists() and account_step(account) is Step.DESKTOPS


def test_a_role_without_the_steps_permission_sees_the_step_and_changes_nothing(client):
    user = StaffUserFactory(username="helpdesk", is_superuser=False)
    user.groups.add(Group.objects.get(name="Help desk"))
    account = _awaiting()
    elsewhere = _awaiting()
    StaffCustomerLimit.objects.create(user=user).customers.set([account.customer])
    client.force_login(user)
    assert client.get(reverse("admin:tenants_awsaccount_onboard_start")).status_code == 403
    url = reverse("admin:tenants_awsaccount_onboard", args=[account.pk])
    assert "Your role may not do this step" in client.get(url).content.decode()
    right = f"arn:aws:iam::{account.account_id}:role/WorkSpacesCorePartnerRole"
    assert client.post(url, {"step": "role", "role_arn": right}).status_code == 403
    account.refresh_from_db()
    assert account.awaiting_role
    # Another customer's onboarding is not found at all.
    assert client.get(reverse("admin:tenants_awsaccount_onboard", args=[elsewhere.pk])).status_code == 404
