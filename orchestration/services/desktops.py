"""Creating desktops in bulk: validate everything first, then CreateWorkspaces 25 at a time, then poll.

Each desktop is a Desktop row (REQUESTED until AWS knows it) and a JobItem. Before an item is sent it is
marked submitted; a later delivery of a submitted item first looks for the WorkSpace by the name we gave
it, and adopts it instead of making a second (CreateWorkspaces has no idempotency token).
"""

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Unpack

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws import ratelimit
from orchestration.aws.calls import chunked
from orchestration.aws.errors import AwsError, AwsTransient, is_retryable_code
from orchestration.aws.tagguard import partner_tags
from orchestration.aws.types import CreateWorkspacesResult, Workspace, WorkspaceSpec
from orchestration.aws.workspaces import (
    CREATE_WORKSPACES_LIMIT,
    DESCRIBE_WORKSPACES_IDS_LIMIT,
    DescribedWorkspace,
    workspaces_create_batch,
    workspaces_describe_by_id,
    workspaces_named,
    workspaces_terminate,
)
from orchestration.choices import AuditOutcome, JobKind
from orchestration.engine.items import items_found_absent, items_mark_submitted
from orchestration.engine.jobs import NewItem
from orchestration.engine.rows import rows_insert, rows_update
from orchestration.engine.runner import CALLS_PER_DELIVERY, JobRunner
from orchestration.failpoints import failpoint
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.selectors import provisioning_seconds_seen
from orchestration.services.accounts import account_access, account_awaiting_role_error
from orchestration.services.audit import AuditResult, audit_event_for_job
from orchestration.services.desktop_rows import REPORTED_FIELDS, desktop_apply_reported
from orchestration.services.errors import RequestInvalid
from tenants.choices import (
    UNDEFINED_USER,
    ComputeType,
    DesktopState,
    DirectoryState,
    RunningMode,
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


def _check_placement(request: DesktopCreateRequest, add: Callable[[str, str], None]) -> None:
    """The account, directory and bundle belong together and can take new desktops."""
    account = request.aws_account
    if account.customer_id != request.customer.pk:
        add("aws_account", "This AWS account belongs to another customer.")
    if account.awaiting_role:
        add("aws_account", account_awaiting_role_error(account).message)
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


def _check_properties(request: DesktopCreateRequest, add: Callable[[str, str], None]) -> None:
    """Running mode (never AUTO_STOP in WorkSpaces Core), compute type and volume sizes."""
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


def _check_users(request: DesktopCreateRequest, add: Callable[[str, str], None]) -> None:
    """Names or a count, not both; each name valid, listed once, and without a live desktop there."""
    if bool(request.user_names) == bool(request.count):
        add(
            "user_names",
            "Give either directory user names or a count of user-decoupled desktops, not both or neither.",
        )
    wanted = len(request.user_names) or request.count
    if request.count < 0 or wanted > MAX_DESKTOPS_PER_JOB:
        add("count", f"One request makes 1 to {MAX_DESKTOPS_PER_JOB} desktops.")
    if not request.user_names:
        return
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


def _validate(request: DesktopCreateRequest) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    _check_placement(request, add)
    _check_properties(request, add)
    _check_users(request, add)
    if errors:
        raise DesktopCreateInvalid(errors)


def desktop_create_bulk(*, actor: Actor, request: DesktopCreateRequest) -> Job:
    """Validate, then record the desktops and a job in one transaction; tasks are sent after commit.

    Nothing reaches AWS if anything is wrong, and nothing is half-made: the rows appear all at once.
    """
    _validate(request)
    users = request.user_names or [UNDEFINED_USER] * request.count
    with transaction.atomic():
        # One COPY of the rows, each with its WorkSpace name (made from its id) already in it.
        desktops = rows_insert(
            Desktop,
            [
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
            ],
            from_id=_name_workspace,
            from_id_fields=["workspace_name"],
        )
        return DesktopCreateRunner.job_create(
            actor=actor,
            customer=request.customer,
            items=[NewItem(desktop=desktop) for desktop in desktops],
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


def _name_workspace(desktop: Desktop) -> None:
    desktop.workspace_name = f"{settings.WORKSPACE_NAME_PREFIX}{desktop.pk}"


# ------------------------------------------------------------------------------------------ the runner
def _desktop_id(item: JobItem) -> int:
    """The desktop a create item was written with (JobItem.desktop is optional only for other kinds)."""
    assert item.desktop_id is not None, f"create job item {item.pk} has no desktop"
    return item.desktop_id


class DesktopCreateRunner(JobRunner):
    """Creating desktops: up to 250 a delivery (CreateWorkspaces 25 at a time), then polls until each settles.

    A submitted item may exist in AWS already (its earlier delivery died or lost the answer): it is
    looked for by the name we gave it and adopted, never created twice.
    """

    kinds = (JobKind.DESKTOP_CREATE,)
    batch_size = CREATE_WORKSPACES_LIMIT * CALLS_PER_DELIVERY
    polls = True
    poll_related = "desktop__aws_account__customer"

    def run(self, items: list[JobItem]) -> None:
        self.desktops = _desktops_with_their_own(pk__in=[_desktop_id(i) for i in items])
        first = self.desktops[_desktop_id(items[0])]
        self.access = account_access(first.aws_account, region=first.region, job_id=self.job.pk)
        try:
            to_create = self._adopt_submitted(items)
        except AwsError as error:
            self._call_failed(items, error, looking=True)
            return
        if to_create:
            self._create(to_create)

    def _event(
        self,
        outcome: str,
        target: str,
        *,
        action: str = "CreateWorkspaces",
        details: dict | None = None,
        **fields: Unpack[AuditResult],
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action=action,
            outcome=outcome,
            aws_account_id=self.access.account_id,
            region=self.access.region,
            target_type="desktop",
            target_id=target,
            details=details,
            **fields,
        )

    def _adopt_submitted(self, items: list[JobItem]) -> list[JobItem]:
        """Adopt what an earlier delivery's call made; returns the items to create now.

        A submitted item is looked up by its name. Found: adopted (with the lookup's request id); found
        twice (a create sent again while the first was still in flight): the first kept, the extra
        terminated. Not found while its call may still be in flight (JOB_CREATE_IN_FLIGHT_SECONDS after it
        was sent): held back, not created, and looked up again later. Not found after that: created again.
        """
        adopted: list[tuple[JobItem, Workspace]] = []
        events: list[AuditEvent] = []
        extras: list[Workspace] = []
        held: list[JobItem] = []
        to_create: list[JobItem] = []
        now = timezone.now()
        try:
            for item in items:
                desktop = self.desktops[_desktop_id(item)]
                if item.submitted_at is None:
                    to_create.append(item)
                    continue
                found = workspaces_named(
                    self.access,
                    directory_id=desktop.directory.directory_id,
                    workspace_name=desktop.workspace_name,
                )
                if found:
                    keep, *extra = sorted(found, key=_keep_first)
                    item.aws_request_id = keep.request_id
                    adopted.append((item, keep))
                    extras.extend(extra)
                    events.append(self._adopted_event(keep, desktop))
                elif (now - item.submitted_at).total_seconds() < settings.JOB_CREATE_IN_FLIGHT_SECONDS:
                    held.append(item)
                else:
                    to_create.append(item)
            if extras:
                # Rare (a create sent twice), and not looked for again once the kept ones are adopted: the
                # extras' terminate waits for its token rather than pause.
                with ratelimit.holding_at_most(ratelimit.HoldBudget(settings.AWS_RATE_LIMIT_MAX_WAIT)):
                    events.extend(self._terminate_extras(extras))
        except ratelimit.RateLimitPause:
            # One look-up a submitted item: under the account's limit a delivery may pause among them. What
            # they found is kept, or every delivery would look again from the first and none would finish.
            self._keep_lookups(adopted, held, events, now=now)
            items_found_absent([i for i in to_create if i.submitted_at is not None])
            raise
        self._keep_lookups(adopted, held, events, now=now)
        return to_create

    def _adopted_event(self, keep: DescribedWorkspace, desktop: Desktop) -> AuditEvent:
        return self._event(
            AuditOutcome.SUCCEEDED,
            keep.workspace_id,
            aws_request_id=keep.request_id,
            details={
                "adopted": True,
                "found_by": "DescribeWorkspaces",
                "user_name": desktop.user_name,
                "workspace_name": desktop.workspace_name,
            },
        )

    def _keep_lookups(
        self,
        adopted: list[tuple[JobItem, Workspace]],
        held: list[JobItem],
        events: list[AuditEvent],
        *,
        now: datetime,
    ) -> None:
        """Write what the look-ups found: the adopted items wait for their poll, the held ones come back
        once their first call can no longer land."""
        with transaction.atomic():
            if adopted:
                self._record_made(adopted, audit=events)
            if held:
                # The first call may still land: look again when its window has passed, costing no attempt.
                oldest = min(item.submitted_at for item in held if item.submitted_at is not None)
                remaining = settings.JOB_CREATE_IN_FLIGHT_SECONDS - (now - oldest).total_seconds()
                self.retry_later(held, count_attempt=False, not_before=max(1.0, min(remaining, 30.0)))

    def _terminate_extras(self, extras: list[Workspace]) -> list[AuditEvent]:
        """Terminate WorkSpaces a repeated create made beside the one kept; the audit events of the calls."""
        events = []
        try:
            results = workspaces_terminate(self.access, [w.workspace_id for w in extras])
        except AwsError as error:  # left running: reconciliation lists it (it carries our name and tag)
            return [
                self._event(
                    AuditOutcome.FAILED,
                    workspace.workspace_id,
                    action="TerminateWorkspaces",
                    aws_request_id=error.request_id,
                    error_code=error.code,
                    error_message=error.message,
                    details={"duplicate_of": workspace.workspace_name},
                )
                for workspace in extras
            ]
        names = {w.workspace_id: w.workspace_name for w in extras}
        for result in results:
            for workspace_id in result.succeeded:
                events.append(
                    self._event(
                        AuditOutcome.SUCCEEDED,
                        workspace_id,
                        action="TerminateWorkspaces",
                        aws_request_id=result.request_id,
                        details={"duplicate_of": names[workspace_id]},
                    )
                )
            for workspace_id, refused in result.failed.items():
                events.append(
                    self._event(
                        AuditOutcome.FAILED,
                        workspace_id,
                        action="TerminateWorkspaces",
                        aws_request_id=result.request_id,
                        error_code=refused.code,
                        error_message=refused.message,
                        details={"duplicate_of": names[workspace_id]},
                    )
                )
        return events

    def _record_made(
        self,
        made: list[tuple[JobItem, Workspace]],
        *,
        audit: list[AuditEvent],
        poll_in: float | None = None,
        answered_at: Mapping[int, datetime] | None = None,
    ) -> None:
        """Write the AWS ids the moment we know them: the desktops are PENDING, the items wait for them
        (their first poll `poll_in` seconds after AWS answered their call, or after now; the poll interval
        by default)."""
        now = timezone.now()
        desktops = []
        for item, workspace in made:
            desktop = self.desktops[_desktop_id(item)]
            desktop.workspace_id = workspace.workspace_id
            desktop.tags = partner_tags()
            desktop_apply_reported(desktop, workspace, now=now)
            desktop.state, desktop.state_changed_at = workspace.state or DesktopState.PENDING, now
            desktops.append(desktop)
            item.aws_resource_id = workspace.workspace_id
        with transaction.atomic(savepoint=False):
            rows_update(Desktop.objects.all(), desktops, ["workspace_id", "tags", *REPORTED_FIELDS])
            self.wait([item for item, _ in made], audit=audit, poll_in=poll_in, answered_at=answered_at)

    def _create(self, items: list[JobItem]) -> None:
        """CreateWorkspaces 25 at a time; what AWS answered is written once, when the calls are done.

        Each call's items are marked submitted just before it. A call that fails as a whole is settled
        at once (`_call_failed`); after a retryable one the items not yet sent go back too, unsent.
        """
        answers = _CreateAnswers()
        chunks = list(chunked(items, CREATE_WORKSPACES_LIMIT))
        try:
            for n, chunk in enumerate(chunks):
                items_mark_submitted(chunk)
                specs = [_spec_for(self.job, self.desktops[_desktop_id(item)]) for item in chunk]
                try:
                    result = workspaces_create_batch(self.access, specs)
                except AwsError as error:
                    self._call_failed(chunk, error)
                    if error.retryable:
                        unsent = [item for later in chunks[n + 1 :] for item in later]
                        self.retry_later(unsent, count_attempt=False, forget_submission=True)
                        return
                    continue
                failpoint("desktop_create.after_create_call")
                self._sort_answer(chunk, result, answers)
        finally:
            # Also when the delivery is cut short: what AWS made is recorded, not looked for by name again.
            self._write_answers(answers)

    def _sort_answer(
        self, items: list[JobItem], result: CreateWorkspacesResult, answers: "_CreateAnswers"
    ) -> None:
        """Each item of one call made, refused or to be retried, as AWS answered, with its audit event."""
        answered = timezone.now()
        for item in items:
            desktop = self.desktops[_desktop_id(item)]
            details = {"user_name": desktop.user_name, "workspace_name": desktop.workspace_name}
            workspace = result.created.get(desktop.workspace_name)
            refused = result.failed.get(desktop.workspace_name)
            if workspace is not None:
                item.aws_request_id = result.request_id
                answers.made.append((item, workspace))
                answers.answered_at[item.pk] = answered
                answers.events.append(
                    self._event(
                        AuditOutcome.SUCCEEDED,
                        workspace.workspace_id,
                        aws_request_id=result.request_id,
                        details=details,
                    )
                )
                continue
            code = refused.code if refused else "MissingFromResponse"
            message = refused.message if refused else "CreateWorkspaces answered without this desktop."
            if refused is not None and is_retryable_code(code):
                answers.retry.append(item)
            else:
                item.error_code, item.error_message, item.aws_request_id = code, message, result.request_id
                answers.failed.append(item)
            answers.events.append(
                self._event(
                    AuditOutcome.FAILED,
                    desktop.workspace_name,
                    aws_request_id=result.request_id,
                    error_code=code,
                    error_message=message,
                    details=details,
                )
            )

    def _write_answers(self, answers: "_CreateAnswers") -> None:
        """The delivery's answers in one transaction: one UPDATE of the desktops made, one of their items
        and one INSERT of the audit events (plus the refused and the retried, when there are any)."""
        if not (answers.made or answers.failed or answers.retry or answers.events):
            return
        first_poll_in = self._first_poll_in(answers.made)
        with transaction.atomic():
            # Just made: nothing to see before provisioning could be done (the calls were moments ago).
            # Each desktop's first look counts from its own call: a delivery's first calls are looked at first.
            self._record_made(
                answers.made,
                audit=answers.events,
                poll_in=first_poll_in,
                answered_at=answers.answered_at,
            )
            self._desktops_failed(answers.failed)
            self.fail_each(answers.failed)
            # AWS said these were not made: the retry creates rather than looks, and costs no attempt.
            self.retry_later(answers.retry, count_attempt=False, forget_submission=True)

    def _first_poll_in(self, made: list[tuple[JobItem, Workspace]]) -> float | None:
        """When to first look at the desktops just made: `JOB_CREATE_FIRST_POLL_SECONDS` if set, else one
        poll interval before new desktops in their directory are usually seen ready, so the account's
        DescribeWorkspaces calls (and its rate limit) are not spent on desktops still provisioning; None
        (the poll interval) until the directory has had enough new desktops to go by."""
        if settings.JOB_CREATE_FIRST_POLL_SECONDS is not None or not made:
            return settings.JOB_CREATE_FIRST_POLL_SECONDS
        desktop = self.desktops[_desktop_id(made[0][0])]  # a delivery's desktops share one directory
        seen = provisioning_seconds_seen(
            customer_id=self.job.customer_id, directory_id=desktop.directory.directory_id
        )
        interval = self.poll_interval()
        return None if seen is None else max(interval, seen - interval)

    def _desktops_failed(self, items: list[JobItem]) -> None:
        """Desktops that were never made show AWS's reason on their row."""
        now = timezone.now()
        for code, message in {(i.error_code, i.error_message) for i in items}:
            Desktop.objects.filter(
                pk__in=[i.desktop_id for i in items if (i.error_code, i.error_message) == (code, message)],
                workspace_id__isnull=True,
            ).update(
                state=DesktopState.ERROR,
                error_code=code,
                error_message=message,
                state_changed_at=now,
                updated_at=now,
            )

    def _call_failed(self, items: list[JobItem], error: AwsError, *, looking: bool = False) -> None:
        """A whole call failed: retried later if AWS may act yet, else the items fail with AWS's words.

        A create whose answer was lost (a transient error: AWS may have made the desktops) is audited
        UNKNOWN with whatever request id there is, in the same transaction as the items given back; a
        retried look-up (`looking`) changed nothing in AWS and is not audited.
        """
        numbers = [i.number for i in items]
        lost_answer = isinstance(error, AwsTransient) and not looking
        event = self._event(
            AuditOutcome.UNKNOWN if lost_answer else AuditOutcome.FAILED,
            f"job {self.job.pk} items {min(numbers)}-{max(numbers)}",
            action="DescribeWorkspaces" if looking else "CreateWorkspaces",
            aws_request_id=error.request_id,
            error_code=error.code,
            error_message=error.message,
            details={"workspace_names": [self.desktops[_desktop_id(i)].workspace_name for i in items]},
        )
        with transaction.atomic():
            retried = self.retry_or_fail(
                items,
                error,
                account_id=self.access.account_id,
                audit=[event],
                audit_if_retried=[event] if lost_answer else [],
            )
            if not retried:
                self._desktops_failed(items)

    def poll(self, items: list[JobItem]) -> None:
        """Describe the provisioning desktops (25 ids a call) per account and region; settle what AWS settled."""
        by_region: dict[tuple[int, str], list[JobItem]] = {}
        for item in items:
            desktop = item.desktop
            assert desktop is not None, f"create job item {item.pk} has no desktop"
            by_region.setdefault((desktop.aws_account_id, desktop.region), []).append(item)
        for group in by_region.values():
            desktop = group[0].desktop
            assert desktop is not None
            access = account_access(desktop.aws_account, region=desktop.region, job_id=self.job.pk)
            self.poll_in_calls(
                group,
                per_call=DESCRIBE_WORKSPACES_IDS_LIMIT,
                look=partial(workspaces_describe_by_id, access),
                settle=self._settle,
                account_id=access.account_id,
            )

    def _settle(self, items: list[JobItem], reported: Mapping[str, Workspace]) -> None:
        """Copy what AWS reports onto the desktops; items whose desktop settled are finished."""
        now = timezone.now()
        with transaction.atomic():
            items = self.still_waiting(items)  # an overlapping poll may have settled some already
            desktops = {d.pk: d for d in Desktop.objects.filter(pk__in=[i.desktop_id for i in items])}
            changed: list[Desktop] = []
            succeeded: list[JobItem] = []
            failed: list[JobItem] = []
            for item in items:
                workspace = reported.get(item.aws_resource_id)
                if workspace is None:
                    continue  # AWS's describe can lag a create by a few seconds
                desktop = desktops[_desktop_id(item)]
                desktop_apply_reported(desktop, workspace, now=now)
                changed.append(desktop)
                if workspace.state in SETTLED_OK_STATES:
                    succeeded.append(item)
                elif workspace.state in SETTLED_FAILED_STATES:
                    item.error_code = workspace.error_code or f"Workspace{workspace.state.title()}"
                    item.error_message = workspace.error_message or f"The desktop went to {workspace.state}."
                    failed.append(item)
            rows_update(Desktop.objects.all(), changed, REPORTED_FIELDS)
            self.succeed(succeeded)
            self.fail_each(failed)


@dataclass
class _CreateAnswers:
    """What AWS answered to one delivery's CreateWorkspaces calls, not yet written."""

    made: list[tuple[JobItem, Workspace]] = field(default_factory=list)
    failed: list[JobItem] = field(default_factory=list)
    retry: list[JobItem] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    answered_at: dict[int, datetime] = field(default_factory=dict)  # item id: when AWS answered its call


def _keep_first(workspace: Workspace) -> tuple[bool, str]:
    """Of WorkSpaces made twice under one name, the one kept: a settled one first, then the lowest id."""
    return (workspace.state not in SETTLED_OK_STATES, workspace.workspace_id)


def _desktops_with_their_own(**filters) -> dict[int, Desktop]:
    """Desktops by id with their account (and its customer), directory and bundle: a delivery's 250 share
    one of each, read once each rather than joined into every row and built 250 times."""
    desktops = list(Desktop.objects.filter(**filters))
    accounts = AwsAccount.objects.select_related("customer").in_bulk({d.aws_account_id for d in desktops})
    directories = Directory.objects.in_bulk({d.directory_id for d in desktops})
    bundles = Bundle.objects.in_bulk({d.bundle_id for d in desktops if d.bundle_id})
    for desktop in desktops:
        desktop.aws_account = accounts[desktop.aws_account_id]
        desktop.directory = directories[desktop.directory_id]
        desktop.bundle = bundles.get(desktop.bundle_id) if desktop.bundle_id else None
    return {desktop.pk: desktop for desktop in desktops}


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
