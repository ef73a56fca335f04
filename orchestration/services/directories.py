"""Directories (R5, R6, R10): register (a job), deregister, security group, maintenance opt-out, sync.

Registration validates everything first, the tenancy rule included (BYOL accounts register DEDICATED,
all others SHARED), then calls RegisterWorkspaceDirectory once with PartnerManaged=true and follows
REGISTERING until REGISTERED or ERROR. A delivery after a lost response first looks for the directory
(DescribeWorkspaceDirectories by id) before it registers again. The short calls on an existing
directory run at once, audited, behind the tag guard.
"""

import re
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import NoReturn, Unpack

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws import directories as aws_directories
from orchestration.aws.directories import REGISTER_SUBNETS_LIMIT, ServiceDirectory, WorkspaceDirectory
from orchestration.aws.errors import AwsError, AwsPermanent
from orchestration.aws.tagguard import is_partner_managed, partner_tags
from orchestration.aws.types import AccountAccess
from orchestration.aws.workspaces import resource_tags
from orchestration.choices import JOB_ITEM_TERMINAL_STATUSES, AuditOutcome, JobKind, Queue
from orchestration.engine.items import items_mark_submitted
from orchestration.engine.jobs import NewItem
from orchestration.engine.runner import JobRunner
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import AuditResult, audit_event_for_job
from orchestration.services.errors import RequestInvalid
from orchestration.services.guard import guarded_change, refuse_change
from tenants.choices import DedicatedTenancySupport, DirectoryState, Tenancy
from tenants.models import DESKTOP_IS_LIVE, AwsAccount, Desktop, Directory

DIRECTORY_ID_PATTERN = re.compile(r"^d-[0-9a-f]{8,63}$")
SUBNET_ID_PATTERN = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID_PATTERN = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
# DescribeWorkspaceDirectories may lag a registration; past this the registration is taken as lost.
REGISTRATION_NOT_FOUND_GRACE = timedelta(minutes=10)
# States in which WorkSpaces knows the directory: a row in one of them that AWS stops reporting drifted.
REGISTERED_STATES = (DirectoryState.REGISTERING, DirectoryState.REGISTERED, DirectoryState.ERROR)


class DirectoryInvalid(RequestInvalid):
    """A directory request that cannot be sent to AWS as it stands."""


def directory_required_tenancy(*, aws_account: AwsAccount) -> str:
    """R5: a BYOL account (dedicated tenancy enabled, management CIDR set) registers DEDICATED, others SHARED."""
    byol = aws_account.dedicated_tenancy_support == DedicatedTenancySupport.ENABLED or bool(
        aws_account.dedicated_tenancy_management_cidr_range
    )
    return Tenancy.DEDICATED if byol else Tenancy.SHARED


def _active_registrations(directory_ids: list[str] | None = None) -> dict[str, int]:
    """Directory id → job id of registrations not finished yet."""
    items = JobItem.objects.filter(job__kind=JobKind.DIRECTORY_REGISTER).exclude(
        status__in=JOB_ITEM_TERMINAL_STATUSES
    )
    if directory_ids is not None:
        items = items.filter(params__directory_id__in=directory_ids)
    return {params["directory_id"]: job_id for params, job_id in items.values_list("params", "job_id")}


# --------------------------------------------------------------------------------------- register
def _validate_register(
    aws_account: AwsAccount, region: str, directory_id: str, subnet_ids: list[str], tenancy: str
) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if region not in aws_account.regions:
        add("region", f"{region!r} is not one of this account's regions ({', '.join(aws_account.regions)}).")
    if not DIRECTORY_ID_PATTERN.match(directory_id):
        add("directory_id", f"{directory_id!r} is not a directory id: it looks like d-1234567890.")
    else:
        existing = Directory.objects.filter(directory_id=directory_id).select_related("aws_account").first()
        if existing is not None and existing.aws_account_id != aws_account.pk:
            add("directory_id", f"{directory_id} is recorded in another AWS account.")
        elif (
            existing is not None
            and existing.state in (*REGISTERED_STATES, DirectoryState.DEREGISTERING)
            # A directory AWS stopped listing (deregistered behind our back) may be registered again.
            and existing.missing_from_aws_since is None
        ):
            add("directory_id", f"{directory_id} is already registered with WorkSpaces ({existing.state}).")
        running = _active_registrations([directory_id]).get(directory_id)
        if running:
            add("directory_id", f"Job {running} is registering {directory_id} already.")
    if len(subnet_ids) not in (0, REGISTER_SUBNETS_LIMIT):
        add(
            "subnet_ids",
            f"Give {REGISTER_SUBNETS_LIMIT} subnets in two different Availability Zones, or none to use the "
            f"directory's own (got {len(subnet_ids)}).",
        )
    bad = [s for s in subnet_ids if not SUBNET_ID_PATTERN.match(s)]
    if bad:
        add("subnet_ids", f"Not subnet ids: {', '.join(bad)} (they look like subnet-0123456789abcdef0).")
    if len(set(subnet_ids)) != len(subnet_ids):
        add("subnet_ids", "The same subnet is listed twice: WorkSpaces needs two different subnets.")
    required = directory_required_tenancy(aws_account=aws_account)
    if tenancy not in Tenancy.values:
        add("tenancy", f"Unknown tenancy {tenancy!r}: use {required}.")
    elif tenancy != required:
        if required == Tenancy.DEDICATED:
            add(
                "tenancy",
                "This account is set up for BYOL (dedicated tenancy, management CIDR configured): its "
                "directories must be registered DEDICATED.",
            )
        else:
            add(
                "tenancy",
                "DEDICATED tenancy is only for BYOL accounts, and this one has no dedicated tenancy "
                "(ModifyAccount with a management CIDR): register it SHARED.",
            )
    if errors:
        raise DirectoryInvalid(errors)


def directory_register(
    *,
    actor: Actor,
    aws_account: AwsAccount,
    region: str,
    directory_id: str,
    subnet_ids: list[str] | None = None,
    tenancy: str = "",
) -> Job:
    """Validate, then record a registration job (one item) in one transaction; its task runs after commit.

    `tenancy` left blank takes the rule's choice for the account; a tenancy against the rule is refused.
    """
    subnet_ids = list(subnet_ids or [])
    tenancy = tenancy or directory_required_tenancy(aws_account=aws_account)
    with transaction.atomic():
        # One registration decision per account at a time: two clicks cannot both pass validation.
        AwsAccount.objects.select_for_update().filter(pk=aws_account.pk).first()
        _validate_register(aws_account, region, directory_id, subnet_ids, tenancy)
        params = {
            "aws_account_id": aws_account.account_id,
            "region": region,
            "directory_id": directory_id,
            "subnet_ids": subnet_ids,
            "tenancy": tenancy,
        }
        return DirectoryRegisterRunner.job_create(
            actor=actor,
            customer=aws_account.customer,
            queue=Queue.INTERACTIVE,
            params=params,
            items=[NewItem(params=params)],
        )


def _apply_reported(directory: Directory, reported: WorkspaceDirectory, now) -> None:
    """Copy what DescribeWorkspaceDirectories says onto our row (not saved)."""
    directory.state = reported.state
    directory.name = reported.name or directory.name
    directory.alias = reported.alias or directory.alias
    directory.directory_type = reported.directory_type
    directory.tenancy = reported.tenancy or directory.tenancy
    directory.subnet_ids = list(reported.subnet_ids)
    directory.registration_code = reported.registration_code
    directory.workspace_security_group_id = reported.workspace_security_group_id
    directory.custom_security_group_id = reported.custom_security_group_id
    if reported.maintenance_mode_enabled is not None:
        directory.maintenance_mode_enabled = reported.maintenance_mode_enabled
    directory.missing_from_aws_since = None
    directory.last_synced_at = now


class DirectoryRegisterRunner(JobRunner):
    """Registering one directory: register once (looking first after a lost answer), then follow
    REGISTERING until REGISTERED or ERROR."""

    kinds = (JobKind.DIRECTORY_REGISTER,)
    polls = True

    @cached_property
    def account(self) -> AwsAccount:
        return AwsAccount.objects.select_related("customer").get(account_id=self.job.params["aws_account_id"])

    def _event(
        self, item: JobItem, outcome: str, *, details: dict | None = None, **fields: Unpack[AuditResult]
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action="RegisterWorkspaceDirectory",
            outcome=outcome,
            aws_account_id=self.job.params["aws_account_id"],
            region=item.params["region"],
            target_type="directory",
            target_id=item.params["directory_id"],
            details=details,
            **fields,
        )

    def _failed(self, item: JobItem, error: AwsError) -> AuditEvent:
        return self._event(
            item,
            AuditOutcome.FAILED,
            aws_request_id=error.request_id,
            error_code=error.code,
            error_message=error.message,
        )

    def run(self, items: list[JobItem]) -> None:
        for item in items:
            self._register(item)

    def _register(self, item: JobItem) -> None:
        """Look for a registration a lost response hid, else register once."""
        params = item.params
        access = account_access(self.account, region=params["region"], job_id=self.job.pk)
        try:
            if item.submitted_at is not None:
                found = aws_directories.directories_describe(access, [params["directory_id"]])
                if found:
                    self._record_registration(item, found[0].state, item.aws_request_id, adopted=True)
                    return
            items_mark_submitted([item])
            registration = aws_directories.directory_register(
                access,
                directory_id=params["directory_id"],
                subnet_ids=params["subnet_ids"],
                tenancy=params["tenancy"],
            )
        except AwsError as error:
            # A retryable answer to a register may hide a success: the submitted mark makes the retry look.
            self.retry_or_fail(
                [item], error, account_id=self.account.account_id, audit=[self._failed(item, error)]
            )
            return
        self._record_registration(item, registration.state, registration.request_id, adopted=False)

    def _record_registration(self, item: JobItem, state: str, request_id: str, *, adopted: bool) -> None:
        """Write what AWS accepted first: the directory row and the item, which now waits for REGISTERED."""
        params = item.params
        item.aws_resource_id, item.aws_request_id = params["directory_id"], request_id
        event = self._event(
            item,
            AuditOutcome.SUCCEEDED,
            aws_request_id=request_id,
            details={"tenancy": params["tenancy"], "subnet_ids": params["subnet_ids"], "adopted": adopted},
        )
        with transaction.atomic():
            Directory.objects.update_or_create(
                directory_id=params["directory_id"],
                defaults={
                    "aws_account": self.account,
                    "region": params["region"],
                    "state": state or DirectoryState.REGISTERING,
                    "tenancy": params["tenancy"],
                    "subnet_ids": params["subnet_ids"],
                    "tags": partner_tags(),
                    "missing_from_aws_since": None,
                    "last_synced_at": timezone.now(),
                },
            )
            # The poll reads the registered directory's details (name, security group, code) right away.
            self.wait([item], audit=[event], poll_in=0)

    def poll(self, items: list[JobItem]) -> None:
        """Describe the registering directory and settle the item on REGISTERED or ERROR."""
        for item in items:
            access = account_access(self.account, region=item.params["region"], job_id=self.job.pk)
            try:
                found = aws_directories.directories_describe(access, [item.aws_resource_id])
            except AwsError as error:
                self.poll_failed(
                    [item], error, account_id=self.account.account_id, audit=[self._failed(item, error)]
                )
                continue
            self._settle(item, found[0] if found else None, timezone.now())

    def _settle(self, item: JobItem, reported: WorkspaceDirectory | None, now) -> None:
        if reported is None:
            if item.submitted_at and now - item.submitted_at > REGISTRATION_NOT_FOUND_GRACE:
                self.fail(
                    [item],
                    "DirectoryNotFound",
                    "WorkSpaces accepted the registration but never listed the directory.",
                )
            return
        directory = Directory.objects.get(directory_id=item.aws_resource_id)
        _apply_reported(directory, reported, now)
        with transaction.atomic():
            directory.save()
            if reported.state == DirectoryState.REGISTERED:
                self.succeed([item])
            elif reported.state == DirectoryState.ERROR:
                self.fail(
                    [item],
                    "DirectoryRegistrationFailed",
                    f"WorkSpaces put {item.aws_resource_id} in ERROR while registering it.",
                )


# ------------------------------------------------------------------------- actions on a directory
def _refuse(actor: Actor, directory: Directory, action: str, errors: dict[str, list[str]]) -> NoReturn:
    refuse_change(
        actor,
        directory.aws_account,
        directory.region,
        target_type="directory",
        target_id=directory.directory_id,
        action=action,
        invalid=DirectoryInvalid(errors),
    )


def _change(
    actor: Actor, directory: Directory, action: str, call: Callable[[AccountAccess], str], details: dict
) -> AccountAccess:
    return guarded_change(
        actor,
        directory,
        target_type="directory",
        target_id=directory.directory_id,
        action=action,
        call=call,
        details=details,
    )


def _load(directory: Directory) -> Directory:
    return Directory.objects.select_related("aws_account__customer").get(pk=directory.pk)


def directory_deregister(*, actor: Actor, directory: Directory) -> Directory:
    """DeregisterWorkspaceDirectory; refused locally while live desktops use the directory."""
    directory = _load(directory)
    action = "DeregisterWorkspaceDirectory"
    errors: list[str] = []
    if directory.state not in (DirectoryState.REGISTERED, DirectoryState.ERROR):
        errors.append(
            f"{directory.directory_id} is {directory.state or 'not registered'}: only a registered "
            "directory can be deregistered."
        )
    live = Desktop.objects.filter(DESKTOP_IS_LIVE, directory=directory).count()
    if live:
        errors.append(f"{live} live desktops use {directory.directory_id}: terminate them first.")
    if errors:
        _refuse(actor, directory, action, {"directory": errors})
    access = _change(
        actor,
        directory,
        action,
        lambda a: aws_directories.directory_deregister(a, directory.directory_id),
        details={},
    )
    try:
        after = aws_directories.directories_describe(access, [directory.directory_id])
        directory.state = after[0].state if after else DirectoryState.DEREGISTERED
    except AwsError:
        directory.state = DirectoryState.DEREGISTERING  # the next sync reads where AWS got to
    directory.last_synced_at = timezone.now()
    directory.save(update_fields=["state", "last_synced_at", "updated_at"])
    return directory


def directory_set_security_group(*, actor: Actor, directory: Directory, security_group_id: str) -> Directory:
    """Attach a custom security group for new desktops (R6: the default one blocks every protocol)."""
    directory = _load(directory)
    action = "ModifyWorkspaceCreationProperties"
    security_group_id = security_group_id.strip()
    errors: dict[str, list[str]] = {}
    if not SECURITY_GROUP_ID_PATTERN.match(security_group_id):
        errors["security_group_id"] = [
            f"{security_group_id!r} is not a security group id: sg- and 8 or 17 hex digits, "
            "like sg-0123456789abcdef0."
        ]
    if directory.state != DirectoryState.REGISTERED:
        errors["directory"] = [f"{directory.directory_id} is {directory.state or 'not registered'}."]
    if errors:
        _refuse(actor, directory, action, errors)
    _change(
        actor,
        directory,
        action,
        lambda a: aws_directories.directory_modify_creation_properties(
            a, directory.directory_id, custom_security_group_id=security_group_id
        ),
        details={"CustomSecurityGroupId": security_group_id},
    )
    directory.custom_security_group_id = security_group_id
    directory.save(update_fields=["custom_security_group_id", "updated_at"])
    return directory


def directory_set_maintenance_mode(*, actor: Actor, directory: Directory, enabled: bool) -> Directory:
    """Opt the directory's MANUAL desktops in or out of the monthly maintenance window (R10)."""
    directory = _load(directory)
    action = "ModifyWorkspaceCreationProperties"
    if directory.state != DirectoryState.REGISTERED:
        _refuse(
            actor,
            directory,
            action,
            {"directory": [f"{directory.directory_id} is {directory.state or 'not registered'}."]},
        )
    _change(
        actor,
        directory,
        action,
        lambda a: aws_directories.directory_modify_creation_properties(
            a, directory.directory_id, enable_maintenance_mode=enabled
        ),
        details={"EnableMaintenanceMode": enabled},
    )
    directory.maintenance_mode_enabled = enabled
    directory.save(update_fields=["maintenance_mode_enabled", "updated_at"])
    return directory


# ------------------------------------------------------------------------------------------ sync
def directory_candidates(*, aws_account: AwsAccount, region: str) -> list[ServiceDirectory]:
    """Directory Service directories in the account and region that WorkSpaces has not registered yet."""
    access = account_access(aws_account, region=region)
    registered = {d.directory_id for d in aws_directories.directories_list(access)}
    return [d for d in aws_directories.service_directories_list(access) if d.directory_id not in registered]


def directory_sync(*, aws_account: AwsAccount, region: str, access: AccountAccess | None = None) -> dict:
    """Bring the account's Directory rows in `region` up to date with DescribeWorkspaceDirectories.

    Every registered directory gets a row (desktops can be made in a directory the customer registered;
    changes to it stay behind the tag guard). Each directory's tags are read every time (they are few),
    so a directory that lost PartnerManaged is reported. Rows AWS no longer lists are marked missing.
    """
    access = access or account_access(aws_account, region=region)
    started = timezone.now()
    reported = list(aws_directories.directories_list(access))
    rows = {
        d.directory_id: d
        for d in Directory.objects.filter(directory_id__in=[r.directory_id for r in reported])
    }
    report: dict = {
        "seen": len(reported),
        "adopted": [],
        "lost_tag": [],
        "not_partner_managed": [],
        "other_account": [],
    }
    now = timezone.now()
    for directory in reported:
        row = rows.get(directory.directory_id)
        if row is not None and row.aws_account_id != aws_account.pk:
            report["other_account"].append(directory.directory_id)
            continue
        try:
            tags = resource_tags(access, directory.directory_id)
        except AwsPermanent:
            continue  # deregistered between the list and this read
        if row is None:
            row = Directory(aws_account=aws_account, region=region, directory_id=directory.directory_id)
            report["adopted"].append(directory.directory_id)
        elif is_partner_managed(row.tags) and not is_partner_managed(tags):
            report["lost_tag"].append(directory.directory_id)
        if not is_partner_managed(tags):
            report["not_partner_managed"].append(directory.directory_id)
        _apply_reported(row, directory, now)
        row.region = region
        row.tags = tags
        row.save()
    seen = {r.directory_id for r in reported}
    registering = _active_registrations()
    gone = (
        Directory.objects.filter(aws_account=aws_account, region=region, updated_at__lt=started)
        .exclude(directory_id__in=seen)
        .exclude(directory_id__in=list(registering))
    )
    deregistering = gone.filter(state=DirectoryState.DEREGISTERING)
    report["deregistered"] = sorted(deregistering.values_list("directory_id", flat=True))
    deregistering.update(state=DirectoryState.DEREGISTERED, last_synced_at=now, updated_at=now)
    missing = gone.filter(state__in=REGISTERED_STATES)
    report["missing"] = sorted(missing.values_list("directory_id", flat=True))
    missing.filter(missing_from_aws_since__isnull=True).update(missing_from_aws_since=now, updated_at=now)
    return report
