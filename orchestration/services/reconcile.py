"""Reconciliation: bring our rows up to date with AWS per account and region, and report the drift.

One RECONCILE job per account, one item per region; a second start while one runs returns the running
one. Each region reads directories, images (the images service's image_sync), bundles and every
WorkSpace (DescribeWorkspaces, 25 a page) and writes what changed. Drift goes to `Job.result`: desktops
AWS has that we do not (adopted when tagged PartnerManaged=true, otherwise listed and recorded as
UntrackedWorkspace rows, which adoption starts from), desktops we
have that AWS no longer has, resources that lost their tag, and MANUAL desktops AWS stopped on its own
(the 48-hour rule, R10). Rows without a WorkSpace id whose create is still in flight are left to that
job, as are rows written while the listing ran; a row whose create job gave up without learning its
WorkSpace's id (its answer was lost) is linked to the WorkSpace that carries its name and our tag, audited.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError, AwsPermanent
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.types import AccountAccess, Workspace
from orchestration.aws.workspaces import DescribedWorkspace, resource_tags, workspaces_list
from orchestration.choices import (
    JOB_TERMINAL_STATUSES,
    ActorKind,
    AuditOutcome,
    JobItemStatus,
    JobKind,
    Queue,
)
from orchestration.engine.jobs import NewItem
from orchestration.engine.rows import rows_update
from orchestration.engine.runner import JobRunner
from orchestration.models import Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.adoption.untracked import untracked_workspaces_record
from orchestration.services.audit import (
    AuditFields,
    audit_event_for_actor,
    audit_event_for_job,
    audit_record_many,
)
from orchestration.services.bundles import bundle_sync
from orchestration.services.desktop_rows import (
    REPORTED_FIELDS,
    desktop_apply_reported,
    desktop_from_workspace,
    desktop_reported_changes,
)
from orchestration.services.directories import directory_sync
from orchestration.services.errors import RequestInvalid
from orchestration.services.images import image_sync
from tenants.choices import DesktopState, RunningMode, VerificationStatus
from tenants.models import AwsAccount, Bundle, Desktop, Directory

# DescribeTags is one call per desktop, so a run checks this many, round robin (see _tag_check_batch).
DESKTOP_TAG_CHECKS_PER_RUN = 100
# Lists in the report stop here (counts stay exact), so 5,000 drifted desktops do not bloat the row.
REPORT_LIST_LIMIT = 200
GONE_STATES = (DesktopState.TERMINATING, DesktopState.TERMINATED)
# Our own stops: a desktop stopped by one of these jobs (a stop action, or the idle sweep) was not
# stopped by AWS.
STOP_JOB_KINDS = (JobKind.DESKTOP_STOP, JobKind.IDLE_SWEEP)
# A create item in one of these may still learn its WorkSpace's id itself.
ITEM_IN_FLIGHT = (JobItemStatus.PENDING, JobItemStatus.RUNNING, JobItemStatus.WAITING)


class ReconcileInvalid(RequestInvalid):
    """A reconciliation that cannot run as it stands."""


# ------------------------------------------------------------------------------------- starting
def _start(*, actor: Actor, aws_account: AwsAccount, regions: list[str] | None) -> tuple[Job, bool]:
    regions = list(regions or aws_account.regions)
    unknown = [r for r in regions if r not in aws_account.regions]
    if unknown or not regions:
        raise ReconcileInvalid(
            {"regions": [f"Not regions of this account: {', '.join(unknown) or 'none given'}."]}
        )
    with transaction.atomic():
        # Serialises starts per account, so two clicks (or two beats) make one job.
        AwsAccount.objects.select_for_update().filter(pk=aws_account.pk).first()
        running = (
            Job.objects.filter(kind=JobKind.RECONCILE, params__aws_account_id=aws_account.account_id)
            .exclude(status__in=JOB_TERMINAL_STATUSES)
            .first()
        )
        if running is not None:
            return running, False
        job = ReconcileRunner.job_create(
            actor=actor,
            customer=aws_account.customer,
            queue=Queue.PERIODIC if actor.kind == ActorKind.SCHEDULE else Queue.BULK,
            params={"aws_account_id": aws_account.account_id, "regions": regions},
            items=[NewItem(params={"region": region}) for region in regions],
        )
    return job, True


def reconcile_start(*, actor: Actor, aws_account: AwsAccount, regions: list[str] | None = None) -> Job:
    """Start reconciling the account (all its regions by default); a running reconciliation is returned."""
    job, _ = _start(actor=actor, aws_account=aws_account, regions=regions)
    return job


def reconcile_start_all(*, actor: Actor) -> list[tuple[Job, bool]]:
    """Start reconciling every verified account of an active customer: (job, whether it is new) each."""
    accounts = AwsAccount.objects.select_related("customer").filter(
        verification_status=VerificationStatus.VERIFIED, customer__is_active=True
    )
    return [_start(actor=actor, aws_account=account, regions=None) for account in accounts]


def reconcile_all() -> int:
    """Beat's entry point: one job per verified account; returns how many were started (not running ones)."""
    return sum(1 for _, new in reconcile_start_all(actor=Actor.schedule("reconcile")) if new)


# -------------------------------------------------------------------------------------- running
class ReconcileRunner(JobRunner):
    """One region an item: read AWS, rewrite our rows, merge the region's drift report into the job's result.

    Reconciliation only reads AWS and rewrites rows, so running a region again after a failure is safe.
    """

    kinds = (JobKind.RECONCILE,)

    def run(self, items: list[JobItem]) -> None:
        account = AwsAccount.objects.select_related("customer").get(
            account_id=self.job.params["aws_account_id"]
        )
        for item in items:
            region = item.params["region"]
            try:
                report = reconcile_region(
                    aws_account=account,
                    region=region,
                    access=account_access(account, region=region, job_id=self.job.pk),
                    job=self.job,
                )
            except AwsError as error:
                with transaction.atomic():
                    if not self.retry_or_fail([item], error, account_id=account.account_id):
                        _merge_result(
                            self.job.pk, region, {"error": {"code": error.code, "message": error.message}}
                        )
                continue
            with transaction.atomic():
                _merge_result(self.job.pk, region, report)
                self.succeed([item])


def _merge_result(job_id: int, region: str, report: dict) -> None:
    """Put one region's report into the job's result; regions may finish at the same time."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        result = dict(job.result or {})
        regions = dict(result.get("regions") or {})
        regions[region] = report
        result["regions"] = regions
        result["summary"] = reconcile_summary(regions)
        job.result = result
        job.save(update_fields=["result"])


def reconcile_summary(regions: dict[str, dict]) -> dict[str, int]:
    """Drift counts over all regions' reports, for a one-line answer."""
    summary = {
        "desktops_seen": 0,
        "desktops_updated": 0,
        "desktops_adopted": 0,
        "desktops_linked": 0,
        "desktops_untracked": 0,
        "desktops_missing": 0,
        "desktops_terminated": 0,
        "stopped_by_aws": 0,
        "lost_tag": 0,
        "directories_missing": 0,
        "bundles_missing": 0,
        "images_missing": 0,
        "regions_failed": 0,
    }
    for report in regions.values():
        if "error" in report:
            summary["regions_failed"] += 1
            continue
        counts = report.get("desktops", {}).get("counts", {})
        summary["desktops_seen"] += counts.get("seen", 0)
        summary["desktops_updated"] += counts.get("updated", 0)
        summary["desktops_adopted"] += counts.get("adopted", 0)
        summary["desktops_linked"] += counts.get("linked", 0)
        summary["desktops_untracked"] += counts.get("untracked", 0)
        summary["desktops_missing"] += counts.get("missing", 0)
        summary["desktops_terminated"] += counts.get("terminated", 0)
        summary["stopped_by_aws"] += counts.get("stopped_by_aws", 0)
        summary["lost_tag"] += counts.get("lost_tag", 0)
        summary["lost_tag"] += len(report.get("directories", {}).get("lost_tag", []))
        summary["lost_tag"] += len(report.get("bundles", {}).get("lost_tag", []))
        summary["directories_missing"] += len(report.get("directories", {}).get("missing", []))
        summary["bundles_missing"] += len(report.get("bundles", {}).get("missing", []))
        summary["images_missing"] += len(report.get("images", {}).get("missing", []))
    return summary


def reconcile_region(
    *, aws_account: AwsAccount, region: str, access: AccountAccess, job: Job | None = None
) -> dict:
    """Directories first (adopted desktops need their rows), images before bundles (a bundle links its
    image), desktops last. `job`: the reconciliation its audit events name (none: a system actor's)."""
    return {
        "directories": directory_sync(aws_account=aws_account, region=region, access=access),
        "images": image_sync(aws_account=aws_account, region=region),
        "bundles": bundle_sync(aws_account=aws_account, region=region, access=access),
        "desktops": _reconcile_desktops(aws_account, region, access, job=job),
    }


# ------------------------------------------------------------------------------------- desktops
def _previous_tag_cursor(aws_account: AwsAccount, region: str) -> int:
    """Where the last reconciliation of this account and region stopped checking desktop tags."""
    previous = (
        Job.objects.filter(
            kind=JobKind.RECONCILE,
            params__aws_account_id=aws_account.account_id,
            result__regions__has_key=region,
        )
        .order_by("-created_at")
        .values_list("result", flat=True)
        .first()
    )
    desktops = ((previous or {}).get("regions", {}).get(region) or {}).get("desktops") or {}
    return int(desktops.get("tag_cursor") or 0)


def tag_check_batch(desktop_pks: list[int], cursor: int, limit: int) -> list[int]:
    """The next `limit` desktops after `cursor`, wrapping round: checked longest ago first.

    Round robin by primary key needs no column of its own (the cursor lives in the last report):
    every desktop is checked once per ceil(N/limit) runs, and a new desktop joins the round at its place.
    """
    ordered = sorted(desktop_pks)
    after = [pk for pk in ordered if pk > cursor]
    return (after + [pk for pk in ordered if pk <= cursor])[:limit]


def _changes(desktop: Desktop, workspace: Workspace, bundles: dict[str, Bundle], now: datetime) -> dict:
    """What differs between our row and AWS's view of the desktop, as update() keyword arguments."""
    changes = desktop_reported_changes(desktop, workspace, now=now)
    current_bundle = desktop.bundle.bundle_id if desktop.bundle else ""
    if workspace.bundle_id and workspace.bundle_id != current_bundle:
        changes["bundle"] = bundles.get(workspace.bundle_id)
    return changes


def _stopped_by_us(desktops: list[Desktop]) -> set[int]:
    """Desktops we asked to stop since they last became AVAILABLE: an item of a stop job or of an idle
    sweep that AWS did not refuse (and not one the request skipped)."""
    latest: dict[int, datetime] = {}
    stops = (
        JobItem.objects.filter(job__kind__in=STOP_JOB_KINDS, desktop_id__in=[d.pk for d in desktops])
        .exclude(status__in=(JobItemStatus.FAILED, JobItemStatus.SKIPPED))
        .values_list("desktop_id", "created_at")
    )
    for desktop_id, created_at in stops:
        latest[desktop_id] = max(created_at, latest.get(desktop_id, created_at))
    return {
        d.pk
        for d in desktops
        if d.pk in latest and (d.state_changed_at is None or latest[d.pk] >= d.state_changed_at)
    }


@dataclass
class _DesktopSync:
    """One account and region's desktops against AWS's listing: update, adopt, mark gone, check tags.

    Rows without a WorkSpace id (a create in flight) are never touched, nor rows written while the
    listing ran (a job acting on them knows better than the listing).
    """

    aws_account: AwsAccount
    region: str
    access: AccountAccess
    started: datetime
    reported: Mapping[str, DescribedWorkspace]
    job: Job | None = None
    now: datetime = field(default_factory=timezone.now)
    lists: dict[str, list] = field(
        default_factory=lambda: {
            name: []
            for name in (
                "adopted",
                "linked",
                "untracked",
                "missing",
                "terminated",
                "stopped_by_aws",
                "lost_tag",
                "in_flight",
            )
        }
    )
    updated: int = 0
    seen: dict[str, Desktop] = field(default_factory=dict)
    untagged: list[tuple[Workspace, dict[str, str]]] = field(default_factory=list)  # recorded as untracked

    def __post_init__(self) -> None:
        self.rows = {
            d.workspace_id: d
            for d in Desktop.objects.select_related("bundle").filter(
                # A released (or forgotten) row is history: its WorkSpace, if AWS has it, is not ours.
                aws_account=self.aws_account,
                region=self.region,
                workspace_id__isnull=False,
                unmanaged_at__isnull=True,
            )
            if d.workspace_id is not None  # always true (the filter above); it types the keys as str
        }
        self.directories = {d.directory_id: d for d in Directory.objects.filter(aws_account=self.aws_account)}
        self.bundles = {b.bundle_id: b for b in Bundle.objects.filter(aws_account=self.aws_account)}
        unlinked = {
            d.pk: d
            for d in Desktop.objects.select_related("directory").filter(
                aws_account=self.aws_account,
                region=self.region,
                workspace_id__isnull=True,
                unmanaged_at__isnull=True,
                created_at__lt=self.started,
            )
        }
        making = set(
            JobItem.objects.filter(
                job__kind=JobKind.DESKTOP_CREATE, desktop_id__in=list(unlinked), status__in=ITEM_IN_FLIGHT
            ).values_list("desktop_id", flat=True)
        )
        # Names of desktops a create job is still making: their WorkSpace is adopted by that job, not here.
        self.in_flight = {d.workspace_name for pk, d in unlinked.items() if pk in making}
        # Rows whose create job finished without learning the WorkSpace's id (its answer was lost).
        self.orphaned = {d.workspace_name: d for pk, d in unlinked.items() if pk not in making}

    def find_stopped_by_aws(self) -> None:
        """MANUAL desktops we last saw AVAILABLE that AWS stopped, and not because we asked (R10)."""
        candidates = [
            self.rows[wid]
            for wid, w in self.reported.items()
            if wid in self.rows
            and self.rows[wid].running_mode == RunningMode.MANUAL
            and self.rows[wid].state == DesktopState.AVAILABLE
            and w.state in (DesktopState.STOPPING, DesktopState.STOPPED)
        ]
        ours = _stopped_by_us(candidates)
        by_aws = [d for d in candidates if d.pk not in ours]
        self.lists["stopped_by_aws"] = sorted(d.workspace_id for d in by_aws)
        # Not updated_at: the state change the listing brings is written next, by update_known.
        Desktop.objects.filter(pk__in=[d.pk for d in by_aws], updated_at__lt=self.started).update(
            stopped_by_aws_at=self.now
        )
        for desktop in by_aws:  # update_known writes these rows again, with the value they have now
            desktop.stopped_by_aws_at = self.now

    def update_known(self) -> None:
        """Rows AWS reports differently, in one UPDATE (each row its own values); the others' sync time."""
        unchanged: list[int] = []
        changed: list[Desktop] = []
        fields: set[str] = set()
        for workspace_id, workspace in self.reported.items():
            desktop = self.rows.get(workspace_id)
            if desktop is None:
                self.adopt_or_list(workspace_id, workspace)
                continue
            self.seen[workspace_id] = desktop
            changes = _changes(desktop, workspace, self.bundles, self.now)
            if not changes:
                unchanged.append(desktop.pk)
                continue
            for name, value in changes.items():
                setattr(desktop, name, value)
            fields.update(changes)
            changed.append(desktop)
        # A row written since the listing began (a job acting on it) knows better than the listing: the
        # fence leaves it out, so writing a field another row changed back to this row's read value is safe.
        self.updated += rows_update(
            Desktop.objects.filter(updated_at__lt=self.started),
            changed,
            sorted(fields),
            values={"last_synced_at": self.now, "updated_at": self.now},
        )
        Desktop.objects.filter(pk__in=unchanged).update(last_synced_at=self.now)

    def adopt_or_list(self, workspace_id: str, workspace: DescribedWorkspace) -> None:
        """A WorkSpace we have no row for: adopted when tagged ours, otherwise listed with the reason."""
        if workspace.state in GONE_STATES:
            return
        if workspace.workspace_name and workspace.workspace_name in self.in_flight:
            self.lists["in_flight"].append(workspace_id)
            return
        try:
            tags = resource_tags(self.access, workspace_id)
        except AwsPermanent:
            return  # terminated between the list and this read
        entry = {
            "workspace_id": workspace_id,
            "user_name": workspace.user_name,
            "directory_id": workspace.directory_id,
            "state": workspace.state,
        }
        directory = self.directories.get(workspace.directory_id)
        orphan = self.orphaned.get(workspace.workspace_name) if workspace.workspace_name else None
        if (
            orphan is not None
            and is_partner_managed(tags)
            and orphan.directory.directory_id == workspace.directory_id
        ):
            self.link(orphan, workspace, tags)
            self.lists["linked"].append(workspace_id)
        elif not is_partner_managed(tags):
            self.lists["untracked"].append({**entry, "reason": "not tagged PartnerManaged=true"})
            self.untagged.append((workspace, tags))
        elif directory is None:
            self.lists["untracked"].append({**entry, "reason": "its directory is not recorded here"})
        elif not self.adopt(workspace, tags, directory):
            self.lists["untracked"].append({**entry, "reason": "the user already has a live desktop there"})
        else:
            self.lists["adopted"].append(workspace_id)

    def link(self, desktop: Desktop, workspace: DescribedWorkspace, tags: dict[str, str]) -> None:
        """The WorkSpace a lost create answer made goes onto the row made for it, audited in the same
        transaction (with the request id of the listing that found it)."""
        del self.orphaned[desktop.workspace_name]
        desktop.workspace_id, desktop.tags = workspace.workspace_id, tags
        desktop_apply_reported(desktop, workspace, now=self.now)
        desktop.state_changed_at = self.now
        desktop.error_code = desktop.error_message = ""
        fields: AuditFields = {
            "action": "CreateWorkspaces",
            "outcome": AuditOutcome.SUCCEEDED,
            "aws_account_id": self.aws_account.account_id,
            "region": self.region,
            "target_type": "desktop",
            "target_id": workspace.workspace_id,
            "aws_request_id": workspace.request_id,
            "details": {
                "adopted": True,
                "found_by": "reconciliation",
                "workspace_name": desktop.workspace_name,
                "user_name": desktop.user_name,
            },
        }
        if self.job is not None:
            event = audit_event_for_job(self.job, **fields)
        else:
            event = audit_event_for_actor(Actor.system("reconciliation"), self.aws_account.customer, **fields)
        with transaction.atomic():
            desktop.save(
                update_fields=[
                    "workspace_id",
                    "tags",
                    "error_code",
                    "error_message",
                    "state_changed_at",
                    *REPORTED_FIELDS,
                ]
            )
            audit_record_many([event])

    def adopt(self, workspace: Workspace, tags: dict[str, str], directory: Directory) -> bool:
        """A row for a tagged WorkSpace we had none for; False if the user already has a live desktop there."""
        desktop = desktop_from_workspace(
            workspace,
            aws_account=self.aws_account,
            region=self.region,
            directory=directory,
            bundle=self.bundles.get(workspace.bundle_id),
            tags=tags,
            now=self.now,
        )
        try:
            with transaction.atomic():
                desktop.save(force_insert=True)
        except IntegrityError:
            return False
        return True

    def mark_gone(self) -> None:
        """Rows AWS no longer lists: a terminating one is terminated, any other is missing. At most two
        UPDATEs however many went: the newly missing and the terminated ones now gone, then the newly
        terminated (their state changes now)."""
        newly_missing: list[int] = []
        newly_terminated: list[int] = []
        gone_now: list[int] = []
        for workspace_id, desktop in self.rows.items():
            if workspace_id in self.reported or desktop.updated_at >= self.started:
                continue
            if desktop.state not in GONE_STATES:
                if desktop.missing_from_aws_since is None:
                    newly_missing.append(desktop.pk)
                self.lists["missing"].append(workspace_id)
            elif desktop.state != DesktopState.TERMINATED:
                newly_terminated.append(desktop.pk)
                self.lists["terminated"].append(workspace_id)
            elif desktop.missing_from_aws_since is None:
                gone_now.append(desktop.pk)
                self.lists["terminated"].append(workspace_id)
            # else: reported the first time it went
        if newly_missing or gone_now:
            Desktop.objects.filter(pk__in=newly_missing + gone_now).update(
                missing_from_aws_since=self.now, updated_at=self.now
            )
        if newly_terminated:
            Desktop.objects.filter(pk__in=newly_terminated).update(
                state=DesktopState.TERMINATED,
                state_changed_at=self.now,
                missing_from_aws_since=Coalesce("missing_from_aws_since", Value(self.now)),
                updated_at=self.now,
            )

    def check_tags(self, limit: int) -> list[int]:
        """DescribeTags for the next `limit` live desktops, round robin; returns which were checked."""
        live = {
            d.pk: (wid, d)
            for wid, d in self.seen.items()
            if self.reported[wid].state != DesktopState.TERMINATED
        }
        batch = tag_check_batch(list(live), _previous_tag_cursor(self.aws_account, self.region), limit)
        for pk in batch:
            workspace_id, desktop = live[pk]
            try:
                tags = resource_tags(self.access, workspace_id)
            except AwsPermanent:
                continue
            if tags != desktop.tags:
                Desktop.objects.filter(pk=pk).update(tags=tags)
            if not is_partner_managed(tags):
                self.lists["lost_tag"].append(workspace_id)
        return batch


def _reconcile_desktops(
    aws_account: AwsAccount,
    region: str,
    access: AccountAccess,
    tag_checks: int = DESKTOP_TAG_CHECKS_PER_RUN,
    *,
    job: Job | None = None,
) -> dict:
    started = timezone.now()
    reported = {w.workspace_id: w for w in workspaces_list(access)}
    sync = _DesktopSync(
        aws_account=aws_account, region=region, access=access, started=started, reported=reported, job=job
    )
    sync.find_stopped_by_aws()
    sync.update_known()
    sync.mark_gone()
    untracked_workspaces_record(
        aws_account=aws_account, region=region, untagged=sync.untagged, seen_at=sync.now
    )
    batch = sync.check_tags(tag_checks)
    counts = {name: len(values) for name, values in sync.lists.items()}
    counts.update(seen=len(reported), updated=sync.updated, tags_checked=len(batch))
    return {
        "counts": counts,
        "tag_cursor": batch[-1] if batch else 0,
        **{name: sorted(values, key=str)[:REPORT_LIST_LIMIT] for name, values in sync.lists.items()},
    }


# -------------------------------------------------------------------------------------- reading
def reconcile_report_lines(job: Job) -> list[str]:
    """The drift report of a finished (or running) reconciliation, as lines for a person to read."""
    result = job.result or {}
    lines = [f"Reconciliation job {job.pk} of account {job.params.get('aws_account_id')}: {job.status}"]
    summary = result.get("summary")
    if summary:
        lines.append("  " + ", ".join(f"{name}={value}" for name, value in summary.items()))
    for region, report in sorted((result.get("regions") or {}).items()):
        if "error" in report:
            lines.append(f"{region}: failed: {report['error']['code']}: {report['error']['message']}")
            continue
        desktops = report.get("desktops", {})
        counts = desktops.get("counts", {})
        lines.append(
            f"{region}: {counts.get('seen', 0)} desktops in AWS, {counts.get('updated', 0)} rows updated, "
            f"{counts.get('tags_checked', 0)} tags checked"
        )
        for name in ("adopted", "linked", "missing", "terminated", "stopped_by_aws", "lost_tag", "in_flight"):
            if desktops.get(name):
                lines.append(f"  desktops {name} ({counts.get(name)}): {', '.join(desktops[name])}")
        for entry in desktops.get("untracked", []):
            lines.append(
                f"  desktop untracked: {entry['workspace_id']} user {entry['user_name']} "
                f"({entry['state']}): {entry['reason']}"
            )
        for kind in ("directories", "images", "bundles"):
            for name, values in report.get(kind, {}).items():
                if isinstance(values, list) and values:
                    shown = [_resource_label(v) for v in values]
                    lines.append(f"  {kind} {name}: {', '.join(shown)}")
    return lines


def _resource_label(entry: str | dict) -> str:
    """A report entry is an id, or a dict naming one (with a name or a state change beside it)."""
    if not isinstance(entry, dict):
        return entry
    resource_id = entry.get("bundle_id") or entry.get("image_id") or entry.get("directory_id") or "?"
    if "to" in entry:
        return f"{resource_id} {entry.get('from')} -> {entry['to']}"
    return resource_id
