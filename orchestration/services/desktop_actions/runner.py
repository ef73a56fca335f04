"""Running desktop actions: per account and region, the tag guard, then ceil(N/25) batch calls (or one call
per desktop for the single-WorkSpace operations), then polls until each desktop reaches its target.

Per-item FailedRequests: transient codes retry just those items, permanent ones fail them with AWS's
code and message. Throttling never fails an item. Every item is marked submitted before its call, and a
later delivery of a submitted item looks at AWS first (orchestration/services/desktop_actions/adoption.py).
"""

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Unpack

from django.db import transaction
from django.utils import timezone

from orchestration.aws.calls import chunked
from orchestration.aws.errors import AwsError, is_access_code, is_retryable_code
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.types import AccountAccess, BatchActionResult, FailedItem
from orchestration.aws.workspaces import (
    BATCH_ACTION_LIMIT,
    DESCRIBE_WORKSPACES_IDS_LIMIT,
    workspace_migrate,
    workspace_modify_properties,
    workspace_modify_state,
    workspace_restore,
    workspaces_describe_by_id,
    workspaces_reboot,
    workspaces_rebuild,
    workspaces_start,
    workspaces_stop,
    workspaces_terminate,
)
from orchestration.choices import AuditOutcome
from orchestration.engine.items import items_mark_submitted
from orchestration.engine.runner import CALLS_PER_DELIVERY, JobRunner
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access, account_flag_access_denied
from orchestration.services.audit import AuditResult, audit_event_for_job
from orchestration.services.desktop_actions import adoption
from orchestration.services.desktop_actions.actions import (
    ACTIONS,
    MODIFY_PARAMS,
    NOT_OURS,
    TAG_GUARD_REFUSED,
    DesktopAction,
)
from orchestration.services.desktop_actions.polling import settle_reported
from tenants.models import Bundle, Desktop

_BATCH_CALLS: dict[str, Callable[[AccountAccess, Sequence[str]], list[BatchActionResult]]] = {
    DesktopAction.START: workspaces_start,
    DesktopAction.STOP: workspaces_stop,
    DesktopAction.REBOOT: workspaces_reboot,
    DesktopAction.REBUILD: workspaces_rebuild,
    DesktopAction.TERMINATE: workspaces_terminate,
}
# A per-item failure: the item, AWS's refusal, and the request id of the call that refused it.
Failure = tuple[JobItem, FailedItem, str]
# How many desktops one call of each kind takes (the idle sweep's stops, not in the table, take 25).
_PER_CALL = {spec.kind: spec.per_call for spec in ACTIONS.values()}


class DesktopActionRunner(JobRunner):
    """Start, stop, reboot, rebuild, restore, modify, admin maintenance, migrate and terminate."""

    kinds = tuple(dict.fromkeys(spec.kind for spec in ACTIONS.values()))
    batch_size = BATCH_ACTION_LIMIT
    polls = True
    poll_related = "desktop__aws_account__customer"

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.spec = ACTIONS[job.params["action"]]
        self.desktops: dict[int, Desktop] = {}
        self.bundle: Bundle | None = None
        self.settled: set[int] = set()  # items this delivery already moved on
        # Accepted by AWS, written once at the end of the delivery: the item and its audit event (if any).
        self.unwritten: list[tuple[JobItem, AuditEvent | None]] = []

    @classmethod
    def items_per_delivery(cls, kind: str) -> int:
        per_call = _PER_CALL.get(kind, BATCH_ACTION_LIMIT)
        return per_call * CALLS_PER_DELIVERY if per_call > 1 else cls.batch_size

    def desktop(self, item: JobItem) -> Desktop:
        # Items whose desktop row is gone are failed as orphans before any of their desktops is asked for.
        assert item.desktop_id is not None, f"job item {item.pk} has no desktop"
        return self.desktops[item.desktop_id]

    def event(
        self,
        item: JobItem,
        access: AccountAccess,
        *,
        outcome: str,
        details: dict | None = None,
        **fields: Unpack[AuditResult],
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action=self.spec.operation,
            outcome=outcome,
            aws_account_id=access.account_id,
            region=access.region,
            target_type="desktop",
            target_id=item.params.get("workspace_id") or item.aws_resource_id,
            details={"desktop_id": item.desktop_id, "action": self.spec.name, **(details or {})},
            **fields,
        )

    def fail(
        self, items: Sequence[JobItem], code: str, message: str, *, audit: Iterable[AuditEvent] = ()
    ) -> None:
        self.settled.update(i.pk for i in items)
        super().fail(items, code, message, audit=audit)

    def _by_account_region(self, items: list[JobItem]) -> list[list[JobItem]]:
        """The items whose desktop row still exists, per account and region (one session each)."""
        orphans = [i for i in items if i.desktop_id not in self.desktops]
        if orphans:
            self.fail(orphans, "DesktopGone", "The desktop's record was deleted before the action ran.")
        groups: dict[tuple[int, str], list[JobItem]] = {}
        for item in items:
            if item.desktop_id in self.desktops:
                desktop = self.desktops[item.desktop_id]
                groups.setdefault((desktop.aws_account_id, desktop.region), []).append(item)
        return list(groups.values())

    # ------------------------------------------------------------------------------------------ run
    def run(self, items: list[JobItem]) -> None:
        """One delivery of up to 25 items: tag guard, then the action's calls per account and region."""
        self.desktops = {
            d.pk: d
            for d in Desktop.objects.select_related("aws_account__customer", "directory", "bundle").filter(
                pk__in=[i.desktop_id for i in items if i.desktop_id]
            )
        }
        if self.spec.name == DesktopAction.MIGRATE:
            self.bundle = Bundle.objects.filter(bundle_id=self.job.params["bundle_id"]).first()
        try:
            for group in self._by_account_region(items):
                self._run_group(group)
        finally:
            # Also when the delivery is cut short: what AWS accepted is recorded, not looked for again.
            self.write_accepted()

    def _run_group(self, items: list[JobItem]) -> None:
        first = self.desktop(items[0])
        access = account_access(first.aws_account, region=first.region, job_id=self.job.pk)
        # The tag guard holds at call time too: tags may have changed since the job was made.
        untagged = [i for i in items if not is_partner_managed(self.desktop(i).tags or {})]
        if untagged:
            events = [
                self.event(
                    item,
                    access,
                    outcome=AuditOutcome.REFUSED,
                    error_code=TAG_GUARD_REFUSED,
                    error_message=NOT_OURS,
                )
                for item in untagged
            ]
            self.fail(untagged, TAG_GUARD_REFUSED, NOT_OURS, audit=events)
        items = [i for i in items if i not in untagged]
        try:
            items = adoption.look_before_calling_again(self, access, items)
        except AwsError as error:
            self.call_error(access, [i for i in items if i.pk not in self.settled], error)
            return
        chunks = list(chunked(items, self.spec.per_call))
        for n, chunk in enumerate(chunks):
            items_mark_submitted(chunk)
            try:
                failures = self._call(access, chunk)
            except AwsError as error:
                if error.retryable:
                    # This chunk and the ones after it wait together; none of them was accepted.
                    self.call_error(access, [i for c in chunks[n:] for i in c], error)
                    return
                self.call_error(access, chunk, error)
                continue
            if failures:
                self._item_failures(access, failures)

    def _call(self, access: AccountAccess, chunk: list[JobItem]) -> list[Failure]:
        """Make the call for these items; record the accepted ones and return the per-item failures."""
        if self.spec.name in _BATCH_CALLS:
            failures: list[Failure] = []
            for result in _BATCH_CALLS[self.spec.name](access, [i.aws_resource_id for i in chunk]):
                accepted = [i for i in chunk if i.aws_resource_id in result.succeeded]
                failures.extend(
                    (item, result.failed[item.aws_resource_id], result.request_id)
                    for item in chunk
                    if item.aws_resource_id in result.failed
                )
                self.accepted(accepted, access, request_id=result.request_id)
            return failures
        (item,) = chunk
        try:
            self._call_one(access, item)
        except AwsError as error:
            if error.retryable:
                raise
            return [
                (
                    item,
                    FailedItem(key=item.aws_resource_id, code=error.code, message=error.message),
                    error.request_id,
                )
            ]
        return []

    def _call_one(self, access: AccountAccess, item: JobItem) -> None:
        """The single-WorkSpace operations: restore, modify, admin maintenance on/off, migrate."""
        params = self.job.params
        if self.spec.name == DesktopAction.MIGRATE:
            migrated = workspace_migrate(access, item.aws_resource_id, params["bundle_id"])
            self.accepted(
                [item],
                access,
                request_id=migrated.request_id,
                target_workspace_id=migrated.target_workspace_id,
                details={
                    "source_workspace_id": migrated.source_workspace_id,
                    "target_workspace_id": migrated.target_workspace_id,
                    "bundle_id": params["bundle_id"],
                },
            )
            return
        if self.spec.name == DesktopAction.RESTORE:
            answer = workspace_restore(access, item.aws_resource_id)
        elif self.spec.name == DesktopAction.MODIFY:
            changes = {name: params[name] for name in MODIFY_PARAMS if name in params}
            answer = workspace_modify_properties(access, item.aws_resource_id, **changes)
        else:
            (state,) = self.spec.done_states
            answer = workspace_modify_state(access, item.aws_resource_id, state)
        self.accepted([item], access, request_id=answer.request_id)

    def accepted(
        self,
        items: list[JobItem],
        access: AccountAccess,
        *,
        request_id: str,
        target_workspace_id: str = "",
        details: dict | None = None,
        audit: bool = True,
    ) -> None:
        """AWS took the action for these desktops; the poll follows them from here. Recorded with the rest
        of the delivery's (`write_accepted`, at its end); a migration's new WorkSpace at once.

        An empty `request_id` keeps each item's own (an adopted item's, or one set by the caller).
        """
        if not items:
            return
        for item in items:
            item.aws_request_id = request_id or item.aws_request_id
            item.aws_resource_id = target_workspace_id or item.aws_resource_id
        events = [
            self.event(
                item, access, outcome=AuditOutcome.SUCCEEDED, aws_request_id=request_id, details=details or {}
            )
            if audit
            else None
            for item in items
        ]
        self.settled.update(i.pk for i in items)
        if not target_workspace_id:
            self.unwritten.extend(zip(items, events, strict=True))
            return
        # A migration names a new WorkSpace per desktop: written at once, desktop by desktop (one call each).
        now = timezone.now()
        with transaction.atomic():
            Desktop.objects.filter(pk__in=[i.desktop_id for i in items]).update(
                workspace_id=target_workspace_id,
                bundle=self.bundle,
                computer_name="",
                ip_address=None,
                updated_at=now,
                **(
                    {"state": self.spec.interim_state, "state_changed_at": now}
                    if self.spec.interim_state
                    else {}
                ),
            )
            self.wait(items, audit=[e for e in events if e is not None])

    def write_accepted(self) -> None:
        """What AWS accepted in this delivery, in one transaction: one UPDATE of the desktops (the interim
        state), one of the items (WAITING, each with its request id) and one INSERT of the audit events."""
        if not self.unwritten:
            return
        items = [item for item, _ in self.unwritten]
        events = [event for _, event in self.unwritten if event is not None]
        now = timezone.now()
        changes: dict = {"updated_at": now}
        if self.spec.interim_state:
            changes.update(state=self.spec.interim_state, state_changed_at=now)
        with transaction.atomic():
            Desktop.objects.filter(pk__in=[i.desktop_id for i in items]).update(**changes)
            self.wait(items, audit=events)
        self.unwritten = []

    def _item_failures(self, access: AccountAccess, failures: list[Failure]) -> None:
        """Per-desktop refusals: transient ones are retried alone, permanent ones fail with AWS's words."""
        retry = [item for item, failed, _ in failures if is_retryable_code(failed.code)]
        already = adoption.already_done(
            self, access, [(item, failed) for item, failed, _ in failures if item not in retry]
        )
        events = []
        adopted, failed_items = [], []
        for item, failed, request_id in failures:
            events.append(
                self.event(
                    item,
                    access,
                    outcome=AuditOutcome.FAILED,
                    aws_request_id=request_id,
                    error_code=failed.code,
                    error_message=failed.message,
                    details={"desktop_already": already[item.pk]} if item.pk in already else {},
                )
            )
            if item.pk in already:
                item.aws_request_id = request_id or item.aws_request_id
                adopted.append(item)
            elif item not in retry:
                item.error_code, item.error_message = failed.code, failed.message
                failed_items.append(item)
        with transaction.atomic():
            self.accepted(adopted, access, request_id="", audit=False)
            self.settled.update(i.pk for i in failed_items)
            self.fail_each(failed_items, audit=events)
            # AWS did not act on these: their next delivery calls rather than looks, at no attempt's cost.
            self.retry_later(retry, count_attempt=False, forget_submission=True)
            denied = next((failed for _, failed, _ in failures if is_access_code(failed.code)), None)
            if denied is not None:
                account_flag_access_denied(
                    account_id=access.account_id, code=denied.code, message=denied.message
                )

    def call_error(self, access: AccountAccess, items: list[JobItem], error: AwsError) -> None:
        """A call failed as a whole: what may work later is retried later, the rest fails with AWS's words."""
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
        self.retry_or_fail(items, error, account_id=access.account_id, audit=events)
        self.settled.update(i.pk for i in items)

    # ----------------------------------------------------------------------------------------- poll
    def poll(self, items: list[JobItem]) -> None:
        """Describe the waiting desktops (25 ids a call) and settle those that reached their target."""
        self.desktops = {i.desktop.pk: i.desktop for i in items if i.desktop}
        for group in self._by_account_region(items):
            desktop = self.desktop(group[0])
            access = account_access(desktop.aws_account, region=desktop.region, job_id=self.job.pk)
            self.poll_in_calls(
                group,
                per_call=DESCRIBE_WORKSPACES_IDS_LIMIT,
                look=partial(workspaces_describe_by_id, access),
                settle=partial(settle_reported, self),
                account_id=access.account_id,
            )
