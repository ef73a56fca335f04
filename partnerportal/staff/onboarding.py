"""The onboarding wizard's position, read from the saved rows only (never a session): leave at any step and
the account's own data says where to resume.

customer → AWS account id → External ID and template → role ARN → verify → BYOL (optional) → directory →
image → bundle → first desktops. A step whose job is still running stays the current step and shows it.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.fields.json import KT

from orchestration.choices import JOB_TERMINAL_STATUSES, JobKind
from orchestration.models import Job
from tenants.choices import DedicatedTenancySupport, DirectoryState, ImageState, VerificationStatus
from tenants.models import AwsAccount, Bundle, Directory, Image


class Step(StrEnum):
    CUSTOMER = "customer"
    ACCOUNT = "account"
    TEMPLATE = "template"
    ROLE = "role"
    VERIFY = "verify"
    BYOL = "byol"
    DIRECTORY = "directory"
    IMAGE = "image"
    BUNDLE = "bundle"
    DESKTOPS = "desktops"
    DONE = "done"


STEP_TITLES: dict[Step, str] = {
    Step.CUSTOMER: "Customer",
    Step.ACCOUNT: "AWS account",
    Step.TEMPLATE: "External ID and template",
    Step.ROLE: "Role ARN",
    Step.VERIFY: "Verify the connection",
    Step.BYOL: "BYOL (optional)",
    Step.DIRECTORY: "Directory",
    Step.IMAGE: "Image",
    Step.BUNDLE: "Bundle",
    Step.DESKTOPS: "First desktops",
    Step.DONE: "Done",
}
STEP_ORDER = list(Step)
# The job kind that carries a step's work, shown on the step while it runs.
STEP_JOB_KINDS: dict[Step, str] = {
    Step.BYOL: JobKind.ACCOUNT_BYOL_SETUP,
    Step.DIRECTORY: JobKind.DIRECTORY_REGISTER,
    Step.IMAGE: JobKind.IMAGE_IMPORT,
    Step.DESKTOPS: JobKind.DESKTOP_CREATE,
}


def byol_done(account: AwsAccount) -> bool:
    """BYOL set up in AWS (dedicated tenancy with its management CIDR), or staff chose to go on without."""
    configured = account.dedicated_tenancy_support == DedicatedTenancySupport.ENABLED and bool(
        account.dedicated_tenancy_management_cidr_range
    )
    return configured or account.byol_skipped_at is not None


def with_onboarding_progress(accounts: QuerySet[AwsAccount]) -> QuerySet[AwsAccount]:
    """The accounts with what `account_step` asks of other tables annotated, so a list of accounts reads
    its steps in one query instead of up to four more per account."""
    desktop_jobs = Job.objects.annotate(account_ref=KT("params__aws_account_id")).filter(
        customer_id=OuterRef("customer_id"), kind=JobKind.DESKTOP_CREATE, account_ref=OuterRef("account_id")
    )
    return accounts.annotate(
        onboarding_directory_done=Exists(
            Directory.objects.filter(aws_account=OuterRef("pk"), state=DirectoryState.REGISTERED)
        ),
        onboarding_image_done=Exists(
            Image.objects.filter(aws_account=OuterRef("pk"), state=ImageState.AVAILABLE)
        ),
        onboarding_bundle_done=Exists(
            Bundle.objects.filter(aws_account=OuterRef("pk"), state=ImageState.AVAILABLE)
        ),
        onboarding_desktops_done=Exists(desktop_jobs),
    )


def _done(account: AwsAccount, annotation: str, query: QuerySet) -> bool:
    """The annotated answer when `with_onboarding_progress` loaded the account, else the query's."""
    annotated = getattr(account, annotation, None)
    return query.exists() if annotated is None else annotated


def account_step(account: AwsAccount) -> Step:
    """Where the wizard resumes for a saved account: the first step its rows do not show as done."""
    if account.awaiting_role:
        return Step.ROLE
    if account.verification_status != VerificationStatus.VERIFIED:
        return Step.VERIFY
    if not byol_done(account):
        return Step.BYOL
    registered = Directory.objects.filter(aws_account=account, state=DirectoryState.REGISTERED)
    if not _done(account, "onboarding_directory_done", registered):
        return Step.DIRECTORY
    images = Image.objects.filter(aws_account=account, state=ImageState.AVAILABLE)
    if not _done(account, "onboarding_image_done", images):
        return Step.IMAGE
    bundles = Bundle.objects.filter(aws_account=account, state=ImageState.AVAILABLE)
    if not _done(account, "onboarding_bundle_done", bundles):
        return Step.BUNDLE
    if not _done(account, "onboarding_desktops_done", account_jobs(account, JobKind.DESKTOP_CREATE)):
        return Step.DESKTOPS
    return Step.DONE


def account_jobs(account: AwsAccount, kind: str):
    """The account's jobs of one kind, newest first (jobs name their account in their params)."""
    return Job.objects.filter(
        customer_id=account.customer_id, kind=kind, params__aws_account_id=account.account_id
    ).order_by("-created_at", "-pk")


@dataclass(frozen=True)
class WizardPosition:
    """The step to show, the step the data is at, and the step's latest job (running or just ended)."""

    shown: Step
    current: Step
    job: Job | None

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.status not in JOB_TERMINAL_STATUSES

    def steps(self) -> list[tuple[Step, str, str]]:
        """Each step with its title and "done", "current" or "todo" (the wizard's step list)."""
        at = STEP_ORDER.index(self.current)
        return [
            (step, STEP_TITLES[step], "done" if i < at else "current" if i == at else "todo")
            for i, step in enumerate(STEP_ORDER)
            if step is not Step.DONE
        ]


# Steps a person may open again once past them (they show what to send the customer, nothing to redo).
REVISITABLE = (Step.TEMPLATE,)


def wizard_position(account: AwsAccount, asked: str = "") -> WizardPosition:
    """The step the account is at, or `asked` when it is one that may be looked at again."""
    current = account_step(account)
    shown = current
    if asked in REVISITABLE:
        shown = Step(asked)
    elif current is Step.ROLE and asked == Step.TEMPLATE:
        shown = Step.TEMPLATE
    kind = STEP_JOB_KINDS.get(Step.DESKTOPS if shown is Step.DONE else shown)
    job = account_jobs(account, kind).first() if kind else None
    return WizardPosition(shown=shown, current=current, job=job)
