"""The wizard's start page lists the onboardings to resume in a fixed number of queries, however many
accounts there are, and each reads the same step as the wizard itself."""

import pytest
from django.urls import reverse
from django.utils import timezone

from orchestration.choices import JobKind
from partnerportal.staff.onboarding import STEP_TITLES, Step, account_step, with_onboarding_progress
from tenants.choices import VerificationStatus
from tenants.models import AwsAccount
from tests.factories import AwsAccountFactory, BundleFactory, DirectoryFactory, ImageFactory, JobFactory

pytestmark = pytest.mark.django_db
START_PAGE_QUERIES = 7  # session, user, staff scope, the accounts with their steps, the page's own reads


def _account_at(step: Step) -> AwsAccount:
    """An account whose rows put the wizard at `step` (ROLE through DONE)."""
    if step is Step.ROLE:
        return AwsAccountFactory(role_arn="")
    if step is Step.VERIFY:
        return AwsAccountFactory()
    account = AwsAccountFactory(verification_status=VerificationStatus.VERIFIED)
    if step is Step.BYOL:
        return account
    account.byol_skipped_at = timezone.now()
    account.save(update_fields=["byol_skipped_at"])
    later = [Step.IMAGE, Step.BUNDLE, Step.DESKTOPS, Step.DONE]
    if step in later:
        DirectoryFactory(aws_account=account)
    if step in later[1:]:
        image = ImageFactory(aws_account=account)
        if step in later[2:]:
            BundleFactory(aws_account=account, image=image)
    if step is Step.DONE:
        JobFactory(
            kind=JobKind.DESKTOP_CREATE,
            customer=account.customer,
            params={"aws_account_id": account.account_id},
        )
    return account


RESUMABLE_STEPS = [Step.ROLE, Step.VERIFY, Step.BYOL, Step.DIRECTORY, Step.IMAGE, Step.BUNDLE, Step.DESKTOPS]


def test_annotated_accounts_read_the_same_step_as_the_wizard():
    made = {_account_at(step).pk: step for step in [*RESUMABLE_STEPS, Step.DONE]}
    # Another account's desktop job does not finish this one's onboarding.
    JobFactory(kind=JobKind.DESKTOP_CREATE, params={"aws_account_id": "999999999999"})
    for account in with_onboarding_progress(AwsAccount.objects.all()):
        assert account_step(account) is made[account.pk]
        assert account_step(AwsAccount.objects.get(pk=account.pk)) is made[account.pk]


def _start_page_queries(staff_client, django_assert_max_num_queries) -> tuple[int, str]:
    with django_assert_max_num_queries(START_PAGE_QUERIES) as captured:
        page = staff_client.get(reverse("admin:tenants_awsaccount_onboard_start"))
    assert page.status_code == 200
    return len(captured), page.content.decode()


def test_the_start_page_reads_a_fixed_number_of_queries_for_1_or_20_accounts(
    staff_client, django_assert_max_num_queries
):
    first = _account_at(Step.DESKTOPS)
    one, page = _start_page_queries(staff_client, django_assert_max_num_queries)
    assert first.account_id in page and STEP_TITLES[Step.DESKTOPS] in page
    accounts = [_account_at(RESUMABLE_STEPS[n % len(RESUMABLE_STEPS)]) for n in range(18)]
    done = _account_at(Step.DONE)
    twenty, page = _start_page_queries(staff_client, django_assert_max_num_queries)
    assert twenty == one
    assert all(account.account_id in page for account in accounts) and done.account_id not in page
