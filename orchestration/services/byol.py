"""BYOL account setup (seed rule R3): DescribeAccountModifications, ListAvailableManagementCidrRanges, ModifyAccount.

ModifyAccount can never be undone or changed, so it runs only after a confirmation that repeats the
CIDR, for a /16 that was offered, on an account that has no COMPLETED or PENDING modification. It is a
one-item job: the item sends ModifyAccount once and the poll follows it to COMPLETED or FAILED. Every
delivery looks at DescribeAccountModifications first, so a lost response never leads to a second call.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import NoReturn, Unpack

from django.db import transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.account import (
    CIDR_RANGES_PAGE_LIMIT,
    AccountInfo,
    AccountModification,
    CidrRangePage,
    account_describe,
    account_modifications_list,
    account_modify_byol,
    management_cidr_ranges_page,
)
from orchestration.aws.errors import AwsAccessDenied, AwsError
from orchestration.aws.types import AccountAccess
from orchestration.choices import JOB_TERMINAL_STATUSES, AuditOutcome, JobItemStatus, JobKind, Queue
from orchestration.engine.items import items_mark_submitted
from orchestration.engine.jobs import NewItem
from orchestration.engine.runner import JobRunner
from orchestration.failpoints import failpoint
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import (
    AuditResult,
    audit_event_for_actor,
    audit_event_for_job,
    audit_record_many,
)
from orchestration.services.errors import RequestInvalid
from tenants.choices import AccountModificationState, DedicatedTenancySupport
from tenants.models import AwsAccount

ACTION = "ModifyAccount"
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
MANAGEMENT_PREFIX = 16
# A modification that started this long before our submitted mark may still be ours (clock skew).
SUBMIT_SKEW = timedelta(minutes=5)
SETTLED_STATES = (AccountModificationState.PENDING, AccountModificationState.COMPLETED)


class ByolSetupInvalid(RequestInvalid):
    """A BYOL setup that cannot be sent to AWS as it stands."""


@dataclass(frozen=True)
class ByolStatus:
    """What AWS says about the account's BYOL setup: DescribeAccount and every modification, newest first."""

    account: AccountInfo
    modifications: list[AccountModification]

    @property
    def blocking(self) -> AccountModification | None:
        """The modification that rules out another ModifyAccount: a PENDING or COMPLETED one."""
        return next((m for m in self.modifications if m.state in SETTLED_STATES), None)


def _private_network(text: str, field: str, errors: dict[str, list[str]]) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        errors.setdefault(field, []).append(
            f"{text!r} is not a CIDR block with its host bits zero, like 10.0.0.0/8 or 10.200.0.0/16."
        )
        return None
    if not isinstance(network, ipaddress.IPv4Network) or not any(
        network.subnet_of(p) for p in PRIVATE_RANGES
    ):
        errors.setdefault(field, []).append(
            f"{network} is not a private range: use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16."
        )
        return None
    return network


def _validate_constraint(constraint: str) -> str:
    errors: dict[str, list[str]] = {}
    network = _private_network(constraint, "constraint", errors)
    if network is not None and network.prefixlen > MANAGEMENT_PREFIX:
        errors["constraint"] = [
            f"{network} is smaller than a /16: search a /16 or a larger range, like 10.0.0.0/8."
        ]
    if errors:
        raise ByolSetupInvalid(errors)
    return str(network)


def byol_status_sync(*, aws_account: AwsAccount) -> ByolStatus:
    """Read DescribeAccount and DescribeAccountModifications, and keep the account's BYOL fields in step."""
    access = account_access(aws_account)
    status = ByolStatus(account=account_describe(access), modifications=account_modifications_list(access))
    latest = status.modifications[0].state if status.modifications else ""
    now = timezone.now()
    fields = {
        "dedicated_tenancy_support": status.account.dedicated_tenancy_support,
        "dedicated_tenancy_management_cidr_range": status.account.management_cidr_range,
        "dedicated_tenancy_modification_state": latest,
        "last_synced_at": now,
        "updated_at": now,
    }
    AwsAccount.objects.filter(pk=aws_account.pk).update(**fields)
    for name, value in fields.items():
        setattr(aws_account, name, value)
    return status


def byol_cidr_ranges(
    *,
    aws_account: AwsAccount,
    constraint: str,
    next_token: str = "",
    max_results: int = CIDR_RANGES_PAGE_LIMIT,
) -> CidrRangePage:
    """One page of /16 management ranges AWS offers inside a private `constraint` (checked before the call)."""
    checked = _validate_constraint(constraint)
    if not 1 <= max_results <= CIDR_RANGES_PAGE_LIMIT:
        raise ByolSetupInvalid({"max_results": [f"A page holds 1 to {CIDR_RANGES_PAGE_LIMIT} ranges."]})
    return management_cidr_ranges_page(
        account_access(aws_account), constraint=checked, next_token=next_token, max_results=max_results
    )


def _validate_setup(
    aws_account: AwsAccount, cidr: str, confirmation: str, offered_cidrs: Sequence[str] | None
) -> dict[str, list[str]]:
    """Everything that can be checked without AWS: the CIDR, the typed confirmation, the account's record."""
    errors: dict[str, list[str]] = {}
    cidr = cidr.strip()
    network = _private_network(cidr, "cidr", errors) if cidr else None
    if not cidr:
        errors["cidr"] = ["Choose the /16 management CIDR from the ranges AWS offers."]
    elif network is not None and network.prefixlen != MANAGEMENT_PREFIX:
        errors["cidr"] = [f"{network} is a /{network.prefixlen}: the BYOL management range must be a /16."]
    elif network is not None and offered_cidrs is not None and cidr not in offered_cidrs:
        errors["cidr"] = [f"{cidr} is not among the ranges AWS offered; choose one of them."]
    if confirmation.strip() != cidr:
        errors["confirmation"] = [
            f"Type the CIDR {cidr or '(none chosen)'} again, exactly, to confirm: the management range can "
            "never be changed once it is set."
        ]
    state = aws_account.dedicated_tenancy_modification_state
    if state in SETTLED_STATES or aws_account.dedicated_tenancy_support == DedicatedTenancySupport.ENABLED:
        configured = aws_account.dedicated_tenancy_management_cidr_range or "a management CIDR"
        errors.setdefault("aws_account", []).append(
            f"BYOL is already {(state or 'enabled').lower()} for this account with {configured}; it can never be changed."
        )
    return errors


def _refuse(actor: Actor, aws_account: AwsAccount, cidr: str, errors: dict[str, list[str]]) -> NoReturn:
    """Audit the refusal of the irreversible change (it concerns the existing account), then raise."""
    message = "; ".join(f"{field}: {' '.join(problems)}" for field, problems in errors.items())
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                aws_account.customer,
                action=ACTION,
                outcome=AuditOutcome.REFUSED,
                aws_account_id=aws_account.account_id,
                region=aws_account.default_region,
                target_type="aws_account",
                target_id=aws_account.account_id,
                error_code="ByolSetupInvalid",
                error_message=message,
                details={"management_cidr_range": cidr},
            )
        ]
    )
    raise ByolSetupInvalid(errors)


def _blocking_in_aws(
    aws_account: AwsAccount, cidr: str, offered_cidrs: Sequence[str] | None
) -> tuple[AccountModification | None, bool]:
    """AWS's answer to the two questions the checks cannot: is a modification PENDING or COMPLETED
    already, and (when no list was shown) does AWS still offer the range? Nothing is changed."""
    access = account_access(aws_account)
    try:
        blocking = next((m for m in account_modifications_list(access) if m.state in SETTLED_STATES), None)
        offered = True
        if blocking is None and offered_cidrs is None:
            offered = cidr in management_cidr_ranges_page(access, constraint=cidr).ranges
    except AwsError as error:
        raise ByolSetupInvalid(
            {
                "aws_account": [
                    f"Could not read the account's BYOL state ({error.code}: {error.message}); nothing was changed."
                ]
            }
        ) from error
    return blocking, offered


def byol_setup_start(
    *,
    actor: Actor,
    aws_account: AwsAccount,
    cidr: str,
    confirmation: str,
    offered_cidrs: Sequence[str] | None = None,
) -> Job:
    """Check, then start the one-item job that sends ModifyAccount; refusals are audited and raised.

    First without AWS: a private /16, typed twice alike, among `offered_cidrs` when the caller showed
    a list, on an account not already set up or being set up. Then two reads: no COMPLETED or PENDING
    modification in AWS, and (when no list was shown) AWS still offers the range.
    """
    cidr = cidr.strip()
    errors = _validate_setup(aws_account, cidr, confirmation, offered_cidrs)
    if errors:
        _refuse(actor, aws_account, cidr, errors)
    blocking, offered = _blocking_in_aws(aws_account, cidr, offered_cidrs)
    if blocking is not None:
        AwsAccount.objects.filter(pk=aws_account.pk).update(
            dedicated_tenancy_modification_state=blocking.state, updated_at=timezone.now()
        )
        message = (
            f"AWS reports a {blocking.state} BYOL setup with {blocking.management_cidr_range}; "
            "the management CIDR can never be changed."
        )
        _refuse(actor, aws_account, cidr, {"aws_account": [message]})
    if not offered:
        message = f"AWS does not offer {cidr} for this account (it overlaps a VPC or a reserved range)."
        _refuse(actor, aws_account, cidr, {"cidr": [message]})
    with transaction.atomic():
        # One setup per account at a time: the row lock makes the check and the insert one step.
        AwsAccount.objects.select_for_update().filter(pk=aws_account.pk).first()
        running = (
            Job.objects.filter(kind=JobKind.ACCOUNT_BYOL_SETUP, params__aws_account_id=aws_account.account_id)
            .exclude(status__in=JOB_TERMINAL_STATUSES)
            .first()
        )
        if running is None:
            return ByolSetupRunner.job_create(
                actor=actor,
                customer=aws_account.customer,
                queue=Queue.INTERACTIVE,
                params={
                    "aws_account_id": aws_account.account_id,
                    "region": aws_account.default_region,
                    "management_cidr_range": cidr,
                },
                items=[NewItem(params={"management_cidr_range": cidr})],
            )
    _refuse(actor, aws_account, cidr, {"aws_account": [f"Job {running.pk} is already setting up BYOL."]})


def _access_denied_message(error: AwsError) -> str:
    return (
        f"AWS refused ModifyAccount ({error.message}). Either BYOL is not enabled for this account yet (the "
        "customer asks their AWS account team), or the role lacks workspaces:ModifyAccount (redeploy the "
        "template with AllowByolAccountSetup=true)."
    )


class ByolSetupRunner(JobRunner):
    """The one-item BYOL setup: look at AWS first, send ModifyAccount at most once, follow it to the end."""

    kinds = (JobKind.ACCOUNT_BYOL_SETUP,)
    polls = True

    @cached_property
    def account(self) -> AwsAccount:
        return AwsAccount.objects.select_related("customer").get(account_id=self.job.params["aws_account_id"])

    @cached_property
    def access(self) -> AccountAccess:
        return account_access(self.account, region=self.job.params.get("region", ""), job_id=self.job.pk)

    def _event(
        self, item: JobItem, outcome: str, *, details: dict | None = None, **fields: Unpack[AuditResult]
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action=ACTION,
            outcome=outcome,
            aws_account_id=self.account.account_id,
            region=self.job.params.get("region", ""),
            target_type="aws_account",
            target_id=self.account.account_id,
            details={"management_cidr_range": item.params["management_cidr_range"], **(details or {})},
            **fields,
        )

    def _account_state(self, state: str, **fields) -> None:
        now = timezone.now()
        AwsAccount.objects.filter(pk=self.account.pk).update(
            dedicated_tenancy_modification_state=state, updated_at=now, **fields
        )

    def _follow(self, item: JobItem, state: str, request_id: str, audit: list[AuditEvent]) -> None:
        """AWS has the change: record it and let the poll follow it (never send it again)."""
        item.aws_resource_id = item.params["management_cidr_range"]
        item.aws_request_id = request_id
        with transaction.atomic():
            self._account_state(state)
            self.wait([item], audit=audit)

    def run(self, items: list[JobItem]) -> None:
        """Look at DescribeAccountModifications first; ModifyAccount only if nothing says it was sent."""
        (item,) = items
        cidr = item.params["management_cidr_range"]
        try:
            modifications = account_modifications_list(self.access)
        except AwsError as error:
            event = self._event(item, AuditOutcome.FAILED, error_code=error.code, error_message=error.message)
            self.retry_or_fail([item], error, account_id=self.account.account_id, audit=[event])
            return
        blocking = next((m for m in modifications if m.state in SETTLED_STATES), None)
        if blocking is not None and blocking.management_cidr_range == cidr:
            # Our earlier delivery's call went through (its answer was lost): follow it, do not repeat it.
            adopted = self._event(
                item, AuditOutcome.SUCCEEDED, details={"adopted": True, "state": blocking.state}
            )
            self._follow(item, blocking.state, item.aws_request_id, [adopted] if item.submitted_at else [])
            return
        if blocking is not None:
            message = (
                f"BYOL is already {blocking.state} with {blocking.management_cidr_range}; "
                "the management CIDR can never be changed."
            )
            event = self._event(
                item, AuditOutcome.REFUSED, error_code="AlreadyConfigured", error_message=message
            )
            self.fail([item], "AlreadyConfigured", message, audit=[event])
            return
        ours = self._our_failed_call(item, modifications)
        if ours is not None:
            # Our call was made and has already failed in AWS: report that, do not try again on our own.
            event = self._event(
                item, AuditOutcome.FAILED, error_code=ours.error_code, error_message=ours.error_message
            )
            with transaction.atomic():
                AwsAccount.objects.filter(pk=self.account.pk).update(
                    dedicated_tenancy_modification_state=ours.state
                )
                self.fail(
                    [item],
                    ours.error_code or "ModificationFailed",
                    ours.error_message or "AWS reports FAILED.",
                    audit=[event],
                )
            return
        self._modify(item, cidr)

    def _our_failed_call(
        self, item: JobItem, modifications: list[AccountModification]
    ) -> AccountModification | None:
        """The modification our earlier, submitted call started, if AWS lists it (it can only have failed)."""
        if item.submitted_at is None:
            return None
        earliest = item.submitted_at - SUBMIT_SKEW
        cidr = item.params["management_cidr_range"]
        return next(
            (
                m
                for m in modifications
                if m.management_cidr_range == cidr and m.started_at is not None and m.started_at >= earliest
            ),
            None,
        )

    def _modify(self, item: JobItem, cidr: str) -> None:
        items_mark_submitted([item])
        try:
            request_id = account_modify_byol(self.access, cidr)
        except AwsError as error:
            # A retryable answer may hide a change that was made: the next delivery looks before sending.
            message = _access_denied_message(error) if isinstance(error, AwsAccessDenied) else error.message
            event = self._event(
                item,
                AuditOutcome.FAILED,
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=message,
            )
            self.retry_or_fail(
                [item], error, account_id=self.account.account_id, audit=[event], message=message
            )
            return
        failpoint("byol_setup.after_modify_call")
        event = self._event(item, AuditOutcome.SUCCEEDED, aws_request_id=request_id)
        self._follow(item, AccountModificationState.PENDING, request_id, [event])

    def poll(self, items: list[JobItem]) -> None:
        """Follow the modification to COMPLETED (then store DescribeAccount on the account) or FAILED."""
        for item in items:
            self._poll_item(item)

    def _poll_item(self, item: JobItem) -> None:
        cidr = item.params["management_cidr_range"]
        try:
            mine = next(
                (m for m in account_modifications_list(self.access) if m.management_cidr_range == cidr), None
            )
            if mine is None or mine.state == AccountModificationState.PENDING:
                return  # still being applied (or not listed yet): the next poll asks again
            info = account_describe(self.access) if mine.state == AccountModificationState.COMPLETED else None
        except AwsError as error:
            self.poll_failed([item], error, account_id=self.account.account_id)
            return
        with transaction.atomic():
            if info is None:
                self._account_state(mine.state, last_synced_at=timezone.now())
                self.fail(
                    [item],
                    mine.error_code or "ModificationFailed",
                    mine.error_message or "AWS reports FAILED.",
                )
                return
            self._account_state(
                AccountModificationState.COMPLETED,
                dedicated_tenancy_support=info.dedicated_tenancy_support,
                dedicated_tenancy_management_cidr_range=info.management_cidr_range,
                last_synced_at=timezone.now(),
            )
            self.succeed([item])

    def settle(self, job: Job) -> dict:
        """The account's BYOL state as the job left it, or why it failed."""
        item = job.items.get()
        if item.status == JobItemStatus.SUCCEEDED:
            account = AwsAccount.objects.get(pk=self.account.pk)
            return {
                "management_cidr_range": account.dedicated_tenancy_management_cidr_range,
                "dedicated_tenancy_support": account.dedicated_tenancy_support,
                "modification_state": AccountModificationState.COMPLETED,
            }
        return {
            "modification_state": AccountModificationState.FAILED,
            "error": f"{item.error_code}: {item.error_message}",
        }
