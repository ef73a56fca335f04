"""Running adoption and release: the PartnerManaged tag set or removed through the customer's temporary
adoption role, one call per WorkSpace, each audited with AWS's request id.

Adoption then reads the tagged WorkSpaces with the steady-state role (DescribeWorkspaces, 25 ids a call)
and makes (or revives) their desktop rows through the one WorkSpace→Desktop mapping. Release keeps each
desktop row, marked unmanaged. Both calls are idempotent in AWS (setting a tag to its value, removing a
key that is gone), so a delivery repeated after a lost answer simply calls again.

An access refusal means the customer's temporary stack is not deployed (or was deleted): the items fail
with a message that says so, and the account's steady-state connection is not flagged, since it is fine.
"""

from datetime import datetime
from functools import partial
from typing import ClassVar, Unpack

from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestration.aws.adoption import (
    ADOPTION_ROLE_NAME,
    workspace_tag_partner_managed,
    workspace_untag_partner_managed,
)
from orchestration.aws.errors import AwsAccessDenied, AwsError
from orchestration.aws.tagguard import PARTNER_TAG_KEY, partner_tags
from orchestration.aws.types import AccountAccess, Workspace
from orchestration.aws.workspaces import DESCRIBE_WORKSPACES_IDS_LIMIT, workspaces_describe_by_id
from orchestration.choices import AuditOutcome, JobKind
from orchestration.engine.runner import JobRunner
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.selectors import job_progress
from orchestration.services.accounts import account_access, adoption_access
from orchestration.services.audit import AuditResult, audit_event_for_job
from orchestration.services.desktop_rows import desktop_apply_reported, desktop_from_workspace
from tenants.choices import DesktopState, UnmanagedReason
from tenants.models import AwsAccount, Bundle, Desktop, Directory, UntrackedWorkspace

GONE_STATES = (DesktopState.TERMINATING, DesktopState.TERMINATED)


class _PartnerTagRunner(JobRunner):
    """What adoption and release share: per region, one tag call per WorkSpace through the adoption role."""

    batch_size = DESCRIBE_WORKSPACES_IDS_LIMIT
    operation: ClassVar[str] = ""  # the audited AWS operation
    verb: ClassVar[str] = ""

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.account = AwsAccount.objects.select_related("customer").get(
            account_id=job.params["aws_account_id"]
        )

    def event(
        self, item: JobItem, access: AccountAccess, *, outcome: str, **fields: Unpack[AuditResult]
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action=self.operation,
            outcome=outcome,
            aws_account_id=access.account_id,
            region=access.region,
            target_type="desktop",
            target_id=item.aws_resource_id,
            details={"desktop_id": item.desktop_id, "tag": PARTNER_TAG_KEY, "role": ADOPTION_ROLE_NAME},
            **fields,
        )

    def run(self, items: list[JobItem]) -> None:
        by_region: dict[str, list[JobItem]] = {}
        for item in items:
            by_region.setdefault(item.params["region"], []).append(item)
        for region, group in by_region.items():
            self._run_region(adoption_access(self.account, region=region, job_id=self.job.pk), group)

    def _run_region(self, access: AccountAccess, items: list[JobItem]) -> None:
        """One call per WorkSpace; the ones AWS took are recorded together at the end."""
        done: list[JobItem] = []
        for n, item in enumerate(items):
            try:
                item.aws_request_id = self.tag_call(access, item.aws_resource_id)
            except AwsError as error:
                if isinstance(error, AwsAccessDenied):
                    self._stack_missing(access, items[n:], error)
                    break
                if error.retryable:  # these and the rest go back for a later delivery
                    self.retry_or_fail(items[n:], error, account_id=access.account_id)
                    break
                failed = self.event(
                    item,
                    access,
                    outcome=AuditOutcome.FAILED,
                    aws_request_id=error.request_id,
                    error_code=error.code,
                    error_message=error.message,
                )
                self.fail([item], error.code, error.message, audit=[failed])
                continue
            done.append(item)
        if done:
            self.tagged(access, done)

    def _stack_missing(self, access: AccountAccess, items: list[JobItem], error: AwsError) -> None:
        """The temporary role cannot be assumed or has no permission left: fail what is left, say why."""
        message = (
            f"AWS refused the temporary role {access.role_arn} ({error.code}): the adoption stack is not "
            f"deployed in account {access.account_id}, or was deleted. Deploy the temporary adoption stack "
            f"(its template is on the Existing WorkSpaces page, or `manage.py adoption_template --account "
            f"{access.account_id}`), then {self.verb} again."
        )
        events = [
            self.event(
                item,
                access,
                outcome=AuditOutcome.FAILED,
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=error.message,
            )
            for item in items
        ]
        self.fail(items, error.code, message, audit=events)

    def tag_call(self, access: AccountAccess, workspace_id: str) -> str:
        """The one call per WorkSpace; returns AWS's request id."""
        raise NotImplementedError

    def tagged(self, access: AccountAccess, items: list[JobItem]) -> None:
        """Record the items AWS took."""
        raise NotImplementedError

    def settle(self, job: Job) -> dict:
        """How many went through, and what the customer does next about the temporary stack."""
        progress = job_progress(job=job)
        next_step = (
            f"Delete the temporary adoption stack in account {self.account.account_id} now: nothing needs "
            f"{ADOPTION_ROLE_NAME} any more."
            if progress.succeeded
            else ""
        )
        return {"succeeded": progress.succeeded, "failed": progress.failed, "next_step": next_step}


class AdoptRunner(_PartnerTagRunner):
    """DESKTOP_ADOPT: CreateTags PartnerManaged=true, then the desktop row from AWS's report."""

    kinds = (JobKind.DESKTOP_ADOPT,)
    polls = True
    operation = "CreateTags"
    verb = "adopt"

    def tag_call(self, access: AccountAccess, workspace_id: str) -> str:
        return workspace_tag_partner_managed(access, workspace_id)

    def tagged(self, access: AccountAccess, items: list[JobItem]) -> None:
        """Tagged: audited at once; the rows are made from AWS's report, read without delay by the poll."""
        events = [
            self.event(item, access, outcome=AuditOutcome.SUCCEEDED, aws_request_id=item.aws_request_id)
            for item in items
        ]
        self.wait(items, audit=events, poll_in=0)

    def poll(self, items: list[JobItem]) -> None:
        by_region: dict[str, list[JobItem]] = {}
        for item in items:
            by_region.setdefault(item.params["region"], []).append(item)
        for region, group in by_region.items():
            # Reads go through the steady-state role: the temporary one may only tag.
            access = account_access(self.account, region=region, job_id=self.job.pk)
            self.poll_in_calls(
                group,
                per_call=DESCRIBE_WORKSPACES_IDS_LIMIT,
                look=partial(workspaces_describe_by_id, access),
                settle=partial(self._take_over, region),
                account_id=access.account_id,
            )

    def _take_over(self, region: str, items: list[JobItem], reported: dict[str, Workspace]) -> None:
        """A desktop row per tagged WorkSpace (a released row of the same WorkSpace is revived, its history
        kept), its untracked row gone, the item done; each WorkSpace in its own transaction."""
        now = timezone.now()
        directories = {
            d.directory_id: d
            for d in Directory.objects.filter(
                aws_account=self.account, directory_id__in={w.directory_id for w in reported.values()}
            )
        }
        bundles = {
            b.bundle_id: b
            for b in Bundle.objects.filter(
                aws_account=self.account, bundle_id__in={w.bundle_id for w in reported.values()}
            )
        }
        existing = {
            d.workspace_id: d
            for d in Desktop.objects.filter(workspace_id__in=[i.aws_resource_id for i in items])
        }
        for item in items:
            workspace = reported.get(item.aws_resource_id)
            if workspace is None or workspace.state in GONE_STATES:
                self.fail(
                    [item],
                    "WorkspaceGone",
                    f"{item.aws_resource_id} was tagged, but AWS no longer lists it as live: it was terminated.",
                )
                continue
            directory = directories.get(workspace.directory_id)
            if directory is None:
                self.fail(
                    [item],
                    "DirectoryNotRecorded",
                    f"{item.aws_resource_id} was tagged, but its directory {workspace.directory_id} is not "
                    "recorded for this account; the next reconciliation adopts it once the directory is.",
                )
                continue
            tags = {**(item.params.get("tags") or {}), **partner_tags()}
            desktop = existing.get(workspace.workspace_id)
            try:
                with transaction.atomic():
                    desktop = self._desktop_row(
                        desktop, workspace, region, directory, bundles.get(workspace.bundle_id), tags, now
                    )
                    UntrackedWorkspace.objects.filter(workspace_id=workspace.workspace_id).delete()
                    JobItem.objects.filter(pk=item.pk).update(desktop=desktop)
                    self.succeed([item])
            except IntegrityError:
                self.fail(
                    [item],
                    "UserHasDesktop",
                    f"{item.aws_resource_id} was tagged, but its user {workspace.user_name} already has a live "
                    f"desktop here in {workspace.directory_id}; reconcile the account to settle which is current.",
                )

    def _desktop_row(
        self,
        desktop: Desktop | None,
        workspace: Workspace,
        region: str,
        directory: Directory,
        bundle: Bundle | None,
        tags: dict[str, str],
        now: datetime,
    ) -> Desktop:
        """The new row, or the existing one (released before, or adopted by a reconciliation meanwhile)
        brought up to AWS's report and managed again."""
        if desktop is None:
            desktop = desktop_from_workspace(
                workspace,
                aws_account=self.account,
                region=region,
                directory=directory,
                bundle=bundle,
                tags=tags,
                now=now,
            )
            desktop.save(force_insert=True)
            return desktop
        desktop_apply_reported(desktop, workspace, now=now)
        desktop.region, desktop.directory, desktop.bundle, desktop.tags = region, directory, bundle, tags
        desktop.unmanaged_at, desktop.unmanaged_reason = None, ""
        desktop.save()
        return desktop


class ReleaseRunner(_PartnerTagRunner):
    """DESKTOP_RELEASE: DeleteTags of PartnerManaged; the desktop row stays, marked unmanaged (RELEASED)."""

    kinds = (JobKind.DESKTOP_RELEASE,)
    operation = "DeleteTags"
    verb = "release"

    def tag_call(self, access: AccountAccess, workspace_id: str) -> str:
        return workspace_untag_partner_managed(access, workspace_id)

    def tagged(self, access: AccountAccess, items: list[JobItem]) -> None:
        now = timezone.now()
        desktops = list(Desktop.objects.filter(pk__in=[i.desktop_id for i in items if i.desktop_id]))
        for desktop in desktops:
            desktop.tags = {k: v for k, v in (desktop.tags or {}).items() if k != PARTNER_TAG_KEY}
            desktop.unmanaged_at, desktop.unmanaged_reason = now, UnmanagedReason.RELEASED
            desktop.updated_at = now
        events = [
            self.event(item, access, outcome=AuditOutcome.SUCCEEDED, aws_request_id=item.aws_request_id)
            for item in items
        ]
        with transaction.atomic():
            Desktop.objects.bulk_update(desktops, ["tags", "unmanaged_at", "unmanaged_reason", "updated_at"])
            JobItem.objects.bulk_update(items, ["aws_request_id"])  # the engine records ids only on wait
            self.succeed(items, audit=events)

    def settle(self, job: Job) -> dict:
        result = super().settle(job)
        if result["succeeded"]:
            result["next_step"] = (
                f"Delete the temporary adoption stack in account {self.account.account_id} now, and the "
                "partner role's stack once you no longer want the partner to manage anything there."
            )
        return result
