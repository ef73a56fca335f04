"""Creating desktops in bulk: validate everything first, then CreateWorkspaces 25 at a time, then poll.

Each desktop is a Desktop row (REQUESTED until AWS knows it) and a JobItem. Before an item is sent it is
marked submitted; a later delivery of a submitted item first looks for the WorkSpace by the name we gave
it, and adopts it instead of making a second (CreateWorkspaces has no idempotency token).
"""

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.errors import (
    AwsAccessDenied,
    AwsError,
    AwsExpiredCredentials,
    AwsThrottled,
    AwsTransient,
    is_transient_item_code,
)
from orchestration.aws.types import Workspace, WorkspaceSpec
from orchestration.aws.workspaces import workspace_find, workspaces_create_batch, workspaces_describe
from orchestration.choices import AuditOutcome, JobItemStatus, JobKind, Queue
from orchestration.failpoints import failpoint
from orchestration.models import Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import audit_event_for_job, audit_record_many
from orchestration.services.errors import RequestInvalid
from orchestration.services.jobs import (
    items_claim,
    items_release,
    job_dispatch_items,
    job_refresh_status,
    job_schedule_poll,
)
from orchestration.services.polling import poll_items_due, poll_while_waiting
from tenants.choices import (
    PARTNER_TAG_KEY,
    PARTNER_TAG_VALUE,
    UNDEFINED_USER,
    ComputeType,
    DesktopState,
    DirectoryState,
    RunningMode,
    VerificationStatus,
)
from tenants.models import DESKTOP_IS_LIVE, AwsAccount, Bundle, Customer, Desktop, Directory

MAX_DESKTOPS_PER_JOB = 5000
USER_NAME_PATTERN = re.compile(r"^[^\s\\/\[\]:;|=,+*?<>\"@][^\\/\[\]:;|=,+*?<>\"]{0,62}$")
# WorkSpaces states after which a new desktop counts as made (or failed) for the create job.
SETTLED_OK_STATES = {"AVAILABLE", "STOPPED"}
SETTLED_FAILED_STATES = {"ERROR", "TERMINATED", "TERMINATING", "SUSPENDED", "UNHEALTHY"}


class DesktopCreateInvalid(RequestInvalid):
    """A desktop-create request that cannot be sent to AWS as it stands."""


@dataclass
class DesktopCreateRequest:
    """What a person or script asks for: where, from which bundle, for whom (names) or how many."""

    customer: Customer
    aws_account: AwsAccount
    directory: Directory
    bundle: Bundle
    running_mode: str = RunningMode.MANUAL
    user_names: list[str] = field(default_factory=list)
    count: int = 0
    compute_type: str = ""
    root_volume_gib: int | None = None
    user_volume_gib: int | None = None


def _validate(request: DesktopCreateRequest) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    account = request.aws_account
    if account.customer_id != request.customer.pk:
        add("aws_account", "This AWS account belongs to another customer.")
    if request.directory.aws_account_id != account.pk:
        add(
            "directory",
            f"Directory {request.directory.directory_id} is not in AWS account {account.account_id}.",
        )
    elif request.directory.missing_from_aws_since is not None:
        add(
            "directory",
            f"AWS no longer reports directory {request.directory.directory_id} (reconciliation, "
            f"{request.directory.missing_from_aws_since:%Y-%m-%d %H:%M} UTC): register it again first.",
        )
    elif request.directory.state != DirectoryState.REGISTERED:
        add("directory", f"Directory {request.directory.directory_id} is not registered with WorkSpaces yet.")
    if request.bundle.aws_account_id != account.pk:
        add("bundle", f"Bundle {request.bundle.bundle_id} is not in AWS account {account.account_id}.")
    elif request.bundle.region != request.directory.region:
        add("bundle", "The bundle and the directory are in different regions.")
    elif request.bundle.missing_from_aws_since is not None:
        add("bundle", f"AWS no longer reports bundle {request.bundle.bundle_id}: choose another bundle.")
    if request.running_mode == RunningMode.AUTO_STOP:
        add(
            "running_mode",
            "AUTO_STOP is not available for WorkSpaces Core: use MANUAL (billed only while running) or ALWAYS_ON.",
        )
    elif request.running_mode not in (RunningMode.MANUAL, RunningMode.ALWAYS_ON):
        add("running_mode", f"Unknown running mode {request.running_mode!r}: use MANUAL or ALWAYS_ON.")
    if request.compute_type and request.compute_type not in ComputeType.values:
        add("compute_type", f"Unknown compute type {request.compute_type!r}.")
    for name in ("root_volume_gib", "user_volume_gib"):
        value = getattr(request, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            add(name, "A volume size is a whole number of GiB, at least 1.")

    if bool(request.user_names) == bool(request.count):
        add(
            "user_names",
            "Give either directory user names or a count of user-decoupled desktops, not both or neither.",
        )
    wanted = len(request.user_names) or request.count
    if request.count < 0 or wanted > MAX_DESKTOPS_PER_JOB:
        add("count", f"One request makes 1 to {MAX_DESKTOPS_PER_JOB} desktops.")
    if request.user_names:
        duplicates = sorted(n for n, times in Counter(request.user_names).items() if times > 1)
        if duplicates:
            add("user_names", f"Listed more than once: {', '.join(duplicates[:20])}.")
        bad = [n for n in request.user_names if n == UNDEFINED_USER or not USER_NAME_PATTERN.match(n)]
        if bad:
            add(
                "user_names",
                f"Not valid directory user names: {', '.join(bad[:20])} (use count for user-decoupled desktops).",
            )
        taken = sorted(
            Desktop.objects.filter(
                DESKTOP_IS_LIVE, directory=request.directory, user_name__in=request.user_names
            ).values_list("user_name", flat=True)
        )
        if taken:
            add("user_names", f"Already have a desktop in this directory: {', '.join(taken[:20])}.")
    if errors:
        raise DesktopCreateInvalid(errors)


def desktop_create_bulk(*, actor: Actor, request: DesktopCreateRequest) -> Job:
    """Validate, then record the desktops and a job in one transaction; tasks are sent after commit.

    Nothing reaches AWS if anything is wrong, and nothing is half-made: the rows appear all at once.
    """
    _validate(request)
    users = request.user_names or [UNDEFINED_USER] * request.count
    single = len(users) == 1
    with transaction.atomic():
        job = Job.objects.create(
            kind=JobKind.DESKTOP_CREATE,
            customer=request.customer,
            queue=Queue.INTERACTIVE if single else Queue.BULK,
            requested_by_kind=actor.kind,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            total_items=len(users),
            params={
                "aws_account_id": request.aws_account.account_id,
                "directory_id": request.directory.directory_id,
                "bundle_id": request.bundle.bundle_id,
                "running_mode": request.running_mode,
                "compute_type": request.compute_type,
                "root_volume_gib": request.root_volume_gib,
                "user_volume_gib": request.user_volume_gib,
                "count": len(users),
            },
        )
        desktops = Desktop.objects.bulk_create(
            Desktop(
                aws_account=request.aws_account,
                region=request.directory.region,
                directory=request.directory,
                bundle=request.bundle,
                user_name=user,
                running_mode=request.running_mode,
                compute_type=request.compute_type or request.bundle.compute_type,
                root_volume_gib=request.root_volume_gib or request.bundle.root_volume_gib,
                user_volume_gib=request.user_volume_gib or request.bundle.user_volume_gib,
                state=DesktopState.REQUESTED,
            )
            for user in users
        )
        for desktop in desktops:
            desktop.workspace_name = f"{settings.WORKSPACE_NAME_PREFIX}{desktop.pk}"
        Desktop.objects.bulk_update(desktops, ["workspace_name"])
        items = JobItem.objects.bulk_create(
            JobItem(job=job, sequence=n, desktop=desktop) for n, desktop in enumerate(desktops)
        )
        job_dispatch_items(job, [item.pk for item in items])
    return job


def _spec_for(job: Job, desktop: Desktop) -> WorkspaceSpec:
    params = job.params
    assert desktop.bundle is not None, "desktop_create_bulk gives every desktop it makes its bundle"
    return WorkspaceSpec(
        directory_id=desktop.directory.directory_id,
        user_name=desktop.user_name,
        bundle_id=desktop.bundle.bundle_id,
        workspace_name=desktop.workspace_name,
        running_mode=desktop.running_mode,
        compute_type=params.get("compute_type") or "",
        root_volume_gib=params.get("root_volume_gib"),
        user_volume_gib=params.get("user_volume_gib"),
    )


def _desktop_id(item: JobItem) -> int:
    """The desktop a create item was written with (JobItem.desktop is optional only for other kinds)."""
    assert item.desktop_id is not None, f"create job item {item.pk} has no desktop"
    return item.desktop_id


def _record_made(job: Job, item: JobItem, workspace: Workspace, request_id: str, now) -> None:
    """Write the AWS id the moment we know it: the item now waits for the desktop to come up."""
    Desktop.objects.filter(pk=_desktop_id(item)).update(
        workspace_id=workspace.workspace_id,
        state=workspace.state or DesktopState.PENDING,
        state_changed_at=now,
        computer_name=workspace.computer_name,
        tags={PARTNER_TAG_KEY: PARTNER_TAG_VALUE},
        last_synced_at=now,
        updated_at=now,
    )
    JobItem.objects.filter(pk=item.pk).update(
        status=JobItemStatus.WAITING,
        aws_resource_id=workspace.workspace_id,
        aws_request_id=request_id,
        lease_expires_at=None,
        next_poll_at=now + timedelta(seconds=settings.JOB_POLL_INTERVAL_SECONDS),
        updated_at=now,
    )


def _fail_items(job: Job, items: list[JobItem], code: str, message: str, now) -> None:
    Desktop.objects.filter(pk__in=[i.desktop_id for i in items], workspace_id__isnull=True).update(
        state=DesktopState.ERROR, error_code=code, error_message=message, state_changed_at=now, updated_at=now
    )
    JobItem.objects.filter(pk__in=[i.pk for i in items]).update(
        status=JobItemStatus.FAILED,
        error_code=code,
        error_message=message,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )


def desktop_create_batch_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery of one batch: claim, adopt what a lost response made, create the rest in one call."""
    items = items_claim(job_id=job_id, item_ids=item_ids)
    if not items:
        return
    job = Job.objects.select_related("customer").get(pk=job_id)
    desktops = {
        d.pk: d
        for d in Desktop.objects.select_related("aws_account__customer", "directory", "bundle").filter(
            pk__in=[i.desktop_id for i in items]
        )
    }
    first = desktops[_desktop_id(items[0])]
    access = account_access(first.aws_account, region=first.region, job_id=job.pk)
    audit = []
    now = timezone.now()

    try:
        # A submitted item may exist in AWS already: its earlier delivery died or lost the response.
        to_create: list[JobItem] = []
        for item in items:
            desktop = desktops[_desktop_id(item)]
            existing = None
            if item.submitted_at is not None:
                existing = workspace_find(
                    access, directory_id=desktop.directory.directory_id, workspace_name=desktop.workspace_name
                )
            if existing is not None:
                _record_made(job, item, existing, item.aws_request_id, now)
                audit.append(
                    audit_event_for_job(
                        job,
                        action="CreateWorkspaces",
                        outcome=AuditOutcome.SUCCEEDED,
                        aws_account_id=access.account_id,
                        region=access.region,
                        target_type="desktop",
                        target_id=existing.workspace_id,
                        details={"adopted": True, "workspace_name": desktop.workspace_name},
                    )
                )
            else:
                to_create.append(item)
    except AwsError as error:
        audit_record_many(audit)
        _handle_batch_error(job, items, error, now)
        return

    if to_create:
        JobItem.objects.filter(pk__in=[i.pk for i in to_create]).update(submitted_at=now, updated_at=now)
        specs = [_spec_for(job, desktops[_desktop_id(item)]) for item in to_create]
        try:
            result = workspaces_create_batch(access, specs)
        except AwsError as error:
            audit_record_many(audit)
            _handle_batch_error(job, to_create, error, now)
            return
        failpoint("desktop_create.after_create_call")
        now = timezone.now()
        retry: list[JobItem] = []
        for item in to_create:
            desktop = desktops[_desktop_id(item)]
            made = result.created.get(desktop.workspace_name)
            failed = result.failed.get(desktop.workspace_name)
            if made is not None:
                _record_made(job, item, made, result.request_id, now)
                outcome, target, code, message = AuditOutcome.SUCCEEDED, made.workspace_id, "", ""
            elif failed is not None and is_transient_item_code(failed.code):
                retry.append(item)
                outcome, target, code, message = (
                    AuditOutcome.FAILED,
                    desktop.workspace_name,
                    failed.code,
                    failed.message,
                )
            else:
                code = failed.code if failed else "MissingFromResponse"
                message = failed.message if failed else "CreateWorkspaces answered without this desktop."
                _fail_items(job, [item], code, message, now)
                outcome, target = AuditOutcome.FAILED, desktop.workspace_name
            audit.append(
                audit_event_for_job(
                    job,
                    action="CreateWorkspaces",
                    outcome=outcome,
                    aws_account_id=access.account_id,
                    region=access.region,
                    target_type="desktop",
                    target_id=target,
                    aws_request_id=result.request_id,
                    error_code=code,
                    error_message=message,
                    details={"user_name": desktop.user_name, "workspace_name": desktop.workspace_name},
                )
            )
        if retry:
            # AWS said these were not made: clear the mark so the retry creates rather than looks.
            JobItem.objects.filter(pk__in=[i.pk for i in retry]).update(submitted_at=None)
            items_release(retry, count_attempt=False)
            job_dispatch_items(job, [i.pk for i in retry], countdown=_retry_delay())
    audit_record_many(audit)
    job_schedule_poll(job, countdown=settings.JOB_POLL_INTERVAL_SECONDS)
    job_refresh_status(job_id=job.pk)


def _retry_delay() -> float:
    """How long items given back for a retry wait before their next delivery."""
    return max(1.0, settings.AWS_BACKOFF_BASE * 4)


def _handle_batch_error(job: Job, items: list[JobItem], error: AwsError, now) -> None:
    """A whole call failed: keep the items for later (throttled, transient) or fail them with AWS's words."""
    if isinstance(error, AwsThrottled | AwsTransient | AwsExpiredCredentials):
        # Throttling is AWS declining to act: it costs the item no attempt. A transient error after a
        # create may hide a success, so it counts, and the submitted mark makes the retry look first.
        # Credentials that expired again right after a refresh are retried with a fresh session.
        items_release(items, count_attempt=not isinstance(error, AwsThrottled))
        job_dispatch_items(job, [i.pk for i in items], countdown=_retry_delay())
        return
    _fail_items(job, items, error.code, error.message, now)
    if isinstance(error, AwsAccessDenied):
        AwsAccount.objects.filter(account_id=job.params.get("aws_account_id")).update(
            verification_status=VerificationStatus.FAILED,
            verification_message=f"{error.code}: {error.message}",
        )
    audit_record_many(
        [
            audit_event_for_job(
                job,
                action="CreateWorkspaces",
                outcome=AuditOutcome.FAILED,
                aws_account_id=job.params.get("aws_account_id", ""),
                target_type="desktop",
                target_id=f"job {job.pk} items {min(i.sequence for i in items)}-{max(i.sequence for i in items)}",
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=error.message,
            )
        ]
    )
    job_refresh_status(job_id=job.pk)


def desktop_create_poll_run(*, job_id: int) -> None:
    """Describe the job's provisioning desktops (25 ids a call) and settle those AWS has settled."""
    due = poll_items_due(
        job_id=job_id, interval=settings.JOB_POLL_INTERVAL_SECONDS, related="desktop__aws_account__customer"
    )
    job = Job.objects.select_related("customer").get(pk=job_id)
    by_region: dict[tuple[int, str], tuple[Desktop, list[JobItem]]] = {}
    for item in due:
        desktop = item.desktop
        assert desktop is not None, f"create job item {item.pk} has no desktop"
        by_region.setdefault((desktop.aws_account_id, desktop.region), (desktop, []))[1].append(item)
    for desktop, group in by_region.values():
        access = account_access(desktop.aws_account, region=desktop.region, job_id=job.pk)
        try:
            reported = {
                w.workspace_id: w for w in workspaces_describe(access, [i.aws_resource_id for i in group])
            }
        except (AwsThrottled, AwsTransient, AwsExpiredCredentials):
            continue  # the next poll asks again
        except AwsError as error:
            _fail_items(job, group, error.code, error.message, timezone.now())
            continue
        _settle(group, reported, timezone.now())
    poll_while_waiting(job, interval=settings.JOB_POLL_INTERVAL_SECONDS)


def _settle(items: list[JobItem], reported: Mapping[str, Workspace], now) -> None:
    """Copy what AWS reports onto the desktops; items whose desktop settled are finished."""
    desktops = {d.pk: d for d in Desktop.objects.filter(pk__in=[i.desktop_id for i in items])}
    changed: list[Desktop] = []
    succeeded: list[int] = []
    for item in items:
        workspace = reported.get(item.aws_resource_id)
        if workspace is None:
            continue  # AWS's describe can lag a create by a few seconds
        desktop = desktops[_desktop_id(item)]
        if desktop.state != workspace.state:
            desktop.state, desktop.state_changed_at = workspace.state, now
        desktop.computer_name = workspace.computer_name
        desktop.ip_address = workspace.ip_address or None
        desktop.running_mode = workspace.running_mode or desktop.running_mode
        desktop.error_code, desktop.error_message = workspace.error_code, workspace.error_message
        desktop.last_synced_at = desktop.updated_at = now
        changed.append(desktop)
        if workspace.state in SETTLED_OK_STATES:
            succeeded.append(item.pk)
        elif workspace.state in SETTLED_FAILED_STATES:
            JobItem.objects.filter(pk=item.pk).update(
                status=JobItemStatus.FAILED,
                error_code=workspace.error_code or f"Workspace{workspace.state.title()}",
                error_message=workspace.error_message or f"The desktop went to {workspace.state}.",
                next_poll_at=None,
                finished_at=now,
                updated_at=now,
            )
    Desktop.objects.bulk_update(
        changed,
        [
            "state",
            "state_changed_at",
            "computer_name",
            "ip_address",
            "running_mode",
            "error_code",
            "error_message",
            "last_synced_at",
            "updated_at",
        ],
    )
    JobItem.objects.filter(pk__in=succeeded).update(
        status=JobItemStatus.SUCCEEDED, next_poll_at=None, finished_at=now, updated_at=now
    )
