"""Reconciliation: bring our rows up to date with AWS per account and region, and report the drift.

One RECONCILE job per account, one item per region; a second start while one runs returns the running
one. Each region reads directories, images (the images service's image_sync), bundles and every
WorkSpace (DescribeWorkspaces, 25 a page) and writes what changed. Drift goes to `Job.result`: desktops
AWS has that we do not (adopted when tagged PartnerManaged=true, otherwise only listed), desktops we
have that AWS no longer has, resources that lost their tag, and MANUAL desktops AWS stopped on its own
(the 48-hour rule, R10). Rows without a WorkSpace id (a create still in flight) are never touched, nor
rows written while the listing ran.
"""

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.errors import (
    AwsError,
    AwsExpiredCredentials,
    AwsPermanent,
    AwsThrottled,
    AwsTransient,
)
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.types import AccountAccess, Workspace
from orchestration.aws.workspaces import resource_tags, workspaces_list
from orchestration.choices import (
    JOB_TERMINAL_STATUSES,
    ActorKind,
    AuditOutcome,
    JobItemStatus,
    JobKind,
    Queue,
)
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.bundles import bundle_sync
from orchestration.services.directories import directory_sync
from orchestration.services.errors import RequestInvalid
from orchestration.services.images import image_sync
from orchestration.services.jobs import items_claim, items_release, job_dispatch_items, job_refresh_status
from tenants.choices import DesktopState, RunningMode, VerificationStatus
from tenants.models import AwsAccount, Bundle, Desktop, Directory

# DescribeTags is one call per desktop, so a run checks this many, round robin (see _tag_check_batch).
DESKTOP_TAG_CHECKS_PER_RUN = 100
# Lists in the report stop here (counts stay exact), so 5,000 drifted desktops do not bloat the row.
REPORT_LIST_LIMIT = 200
GONE_STATES = (DesktopState.TERMINATING, DesktopState.TERMINATED)
# Our own stops: a desktop stopped by one of these jobs was not stopped by AWS.
STOP_JOB_KINDS = (JobKind.DESKTOP_STOP,)
DESKTOP_SYNC_FIELDS = (
    "state",
    "computer_name",
    "ip_address",
    "running_mode",
    "compute_type",
    "root_volume_gib",
    "user_volume_gib",
    "error_code",
    "error_message",
)


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
        job = Job.objects.create(
            kind=JobKind.RECONCILE,
            customer=aws_account.customer,
            queue=Queue.PERIODIC if actor.kind == ActorKind.SCHEDULE else Queue.BULK,
            requested_by_kind=actor.kind,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            total_items=len(regions),
            params={"aws_account_id": aws_account.account_id, "regions": regions},
        )
        items = JobItem.objects.bulk_create(
            JobItem(job=job, sequence=n, params={"region": region}) for n, region in enumerate(regions)
        )
        job_dispatch_items(job, [item.pk for item in items])
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
def reconcile_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery: reconcile each claimed region and merge its report into the job's result."""
    items = items_claim(job_id=job_id, item_ids=item_ids)
    if not items:
        return
    job = Job.objects.select_related("customer").get(pk=job_id)
    account = AwsAccount.objects.select_related("customer").get(account_id=job.params["aws_account_id"])
    for item in items:
        region = item.params["region"]
        try:
            report = reconcile_region(
                aws_account=account,
                region=region,
                access=account_access(account, region=region, job_id=job.pk),
            )
        except (AwsThrottled, AwsTransient, AwsExpiredCredentials) as error:
            # Reconciliation only reads AWS and rewrites rows, so running a region again is safe.
            items_release([item], count_attempt=not isinstance(error, AwsThrottled))
            job_dispatch_items(job, [item.pk], countdown=max(1.0, settings.AWS_BACKOFF_BASE * 4))
            continue
        except AwsError as error:
            _merge_result(job.pk, region, {"error": {"code": error.code, "message": error.message}})
            _finish_item(item, JobItemStatus.FAILED, code=error.code, message=error.message)
            continue
        _merge_result(job.pk, region, report)
        _finish_item(item, JobItemStatus.SUCCEEDED)
    job_refresh_status(job_id=job.pk)


def _finish_item(item: JobItem, status: str, *, code: str = "", message: str = "") -> None:
    now = timezone.now()
    JobItem.objects.filter(pk=item.pk).update(
        status=status,
        error_code=code,
        error_message=message,
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )


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


def reconcile_region(*, aws_account: AwsAccount, region: str, access: AccountAccess) -> dict:
    """Directories first (adopted desktops need their rows), images before bundles (a bundle links its
    image), desktops last."""
    return {
        "directories": directory_sync(aws_account=aws_account, region=region, access=access),
        "images": image_sync(aws_account=aws_account, region=region),
        "bundles": bundle_sync(aws_account=aws_account, region=region, access=access),
        "desktops": _reconcile_desktops(aws_account, region, access),
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
    reported = {
        "state": workspace.state or desktop.state,
        "computer_name": workspace.computer_name,
        "ip_address": workspace.ip_address or None,
        "running_mode": workspace.running_mode or desktop.running_mode,
        "compute_type": workspace.compute_type or desktop.compute_type,
        "root_volume_gib": workspace.root_volume_gib or desktop.root_volume_gib,
        "user_volume_gib": workspace.user_volume_gib or desktop.user_volume_gib,
        "error_code": workspace.error_code,
        "error_message": workspace.error_message,
    }
    changes: dict[str, object] = {
        name: value for name, value in reported.items() if getattr(desktop, name) != value
    }
    if "state" in changes:
        changes["state_changed_at"] = now
    current_bundle = desktop.bundle.bundle_id if desktop.bundle else ""
    if workspace.bundle_id and workspace.bundle_id != current_bundle:
        changes["bundle"] = bundles.get(workspace.bundle_id)
    if desktop.missing_from_aws_since is not None:
        changes["missing_from_aws_since"] = None
    return changes


def _stopped_by_us(desktops: list[Desktop]) -> set[int]:
    """Desktops we asked to stop since they last became AVAILABLE: a stop job's item not refused by AWS,
    or an audited StopWorkspaces (the idle sweep stops without a job)."""
    latest: dict[int, datetime] = {}
    stops = (
        JobItem.objects.filter(job__kind__in=STOP_JOB_KINDS, desktop_id__in=[d.pk for d in desktops])
        .exclude(status=JobItemStatus.FAILED)
        .values_list("desktop_id", "created_at")
    )
    for desktop_id, created_at in stops:
        latest[desktop_id] = max(created_at, latest.get(desktop_id, created_at))
    by_workspace = {d.workspace_id: d.pk for d in desktops}
    audited = AuditEvent.objects.filter(
        action="StopWorkspaces", outcome=AuditOutcome.SUCCEEDED, target_id__in=list(by_workspace)
    ).values_list("target_id", "occurred_at")
    for workspace_id, occurred_at in audited:
        desktop_id = by_workspace[workspace_id]
        latest[desktop_id] = max(occurred_at, latest.get(desktop_id, occurred_at))
    return {
        d.pk
        for d in desktops
        if d.pk in latest and (d.state_changed_at is None or latest[d.pk] >= d.state_changed_at)
    }


def _adopt(
    aws_account: AwsAccount,
    region: str,
    workspace: Workspace,
    tags: dict[str, str],
    directory: Directory,
    bundles: dict[str, Bundle],
    now: datetime,
) -> bool:
    """A row for a tagged WorkSpace we had none for; False if the user already has a live desktop there."""
    try:
        with transaction.atomic():
            Desktop.objects.create(
                aws_account=aws_account,
                region=region,
                directory=directory,
                bundle=bundles.get(workspace.bundle_id),
                workspace_id=workspace.workspace_id,
                user_name=workspace.user_name,
                workspace_name=workspace.workspace_name,
                computer_name=workspace.computer_name,
                ip_address=workspace.ip_address or None,
                state=workspace.state,
                state_changed_at=now,
                running_mode=workspace.running_mode or RunningMode.MANUAL,
                compute_type=workspace.compute_type,
                root_volume_gib=workspace.root_volume_gib,
                user_volume_gib=workspace.user_volume_gib,
                error_code=workspace.error_code,
                error_message=workspace.error_message,
                tags=tags,
                last_synced_at=now,
            )
    except IntegrityError:
        return False
    return True


def _reconcile_desktops(
    aws_account: AwsAccount, region: str, access: AccountAccess, tag_checks: int = DESKTOP_TAG_CHECKS_PER_RUN
) -> dict:
    started = timezone.now()
    reported = {w.workspace_id: w for w in workspaces_list(access)}
    now = timezone.now()
    rows = {
        d.workspace_id: d
        for d in Desktop.objects.select_related("bundle").filter(
            aws_account=aws_account, region=region, workspace_id__isnull=False
        )
        if d.workspace_id is not None  # always true (the filter above); it types the keys as str
    }
    directories = {d.directory_id: d for d in Directory.objects.filter(aws_account=aws_account)}
    bundles = {b.bundle_id: b for b in Bundle.objects.filter(aws_account=aws_account)}
    # Names of desktops a create job is still making: their WorkSpace is adopted by that job, not here.
    in_flight = set(
        Desktop.objects.filter(aws_account=aws_account, region=region, workspace_id__isnull=True).values_list(
            "workspace_name", flat=True
        )
    )
    lists: dict[str, list] = {
        name: []
        for name in (
            "adopted",
            "untracked",
            "missing",
            "terminated",
            "stopped_by_aws",
            "lost_tag",
            "in_flight",
        )
    }
    updated = 0
    unchanged: list[int] = []
    seen: dict[str, Desktop] = {}

    auto_stop_candidates = [
        rows[wid]
        for wid, w in reported.items()
        if wid in rows
        and rows[wid].running_mode == RunningMode.MANUAL
        and rows[wid].state == DesktopState.AVAILABLE
        and w.state in (DesktopState.STOPPING, DesktopState.STOPPED)
    ]
    ours_stopping = _stopped_by_us(auto_stop_candidates)
    lists["stopped_by_aws"] = sorted(
        d.workspace_id for d in auto_stop_candidates if d.pk not in ours_stopping
    )

    for workspace_id, workspace in reported.items():
        desktop = rows.get(workspace_id)
        if desktop is not None:
            seen[workspace_id] = desktop
            changes = _changes(desktop, workspace, bundles, now)
            if not changes:
                unchanged.append(desktop.pk)
                continue
            # A row written since the listing began (a job acting on it) knows better than the listing.
            updated += Desktop.objects.filter(pk=desktop.pk, updated_at__lt=started).update(
                **changes, last_synced_at=now, updated_at=now
            )
            continue
        if workspace.state in GONE_STATES:
            continue
        if workspace.workspace_name and workspace.workspace_name in in_flight:
            lists["in_flight"].append(workspace_id)
            continue
        try:
            tags = resource_tags(access, workspace_id)
        except AwsPermanent:
            continue  # terminated between the list and this read
        entry = {
            "workspace_id": workspace_id,
            "user_name": workspace.user_name,
            "directory_id": workspace.directory_id,
            "state": workspace.state,
        }
        directory = directories.get(workspace.directory_id)
        if not is_partner_managed(tags):
            lists["untracked"].append({**entry, "reason": "not tagged PartnerManaged=true"})
        elif directory is None:
            lists["untracked"].append({**entry, "reason": "its directory is not recorded here"})
        elif not _adopt(aws_account, region, workspace, tags, directory, bundles, now):
            lists["untracked"].append({**entry, "reason": "the user already has a live desktop there"})
        else:
            lists["adopted"].append(workspace_id)
    Desktop.objects.filter(pk__in=unchanged).update(last_synced_at=now)

    for workspace_id, desktop in rows.items():
        if workspace_id in reported or desktop.updated_at >= started:
            continue
        if desktop.state in GONE_STATES:
            if desktop.state == DesktopState.TERMINATED and desktop.missing_from_aws_since is not None:
                continue  # reported the first time it went
            Desktop.objects.filter(pk=desktop.pk).update(
                state=DesktopState.TERMINATED,
                state_changed_at=now
                if desktop.state != DesktopState.TERMINATED
                else desktop.state_changed_at,
                missing_from_aws_since=desktop.missing_from_aws_since or now,
                updated_at=now,
            )
            lists["terminated"].append(workspace_id)
        else:
            if desktop.missing_from_aws_since is None:
                Desktop.objects.filter(pk=desktop.pk).update(missing_from_aws_since=now, updated_at=now)
            lists["missing"].append(workspace_id)

    live = {d.pk: (wid, d) for wid, d in seen.items() if reported[wid].state != DesktopState.TERMINATED}
    batch = tag_check_batch(list(live), _previous_tag_cursor(aws_account, region), tag_checks)
    for pk in batch:
        workspace_id, desktop = live[pk]
        try:
            tags = resource_tags(access, workspace_id)
        except AwsPermanent:
            continue
        if tags != desktop.tags:
            Desktop.objects.filter(pk=pk).update(tags=tags)
        if not is_partner_managed(tags):
            lists["lost_tag"].append(workspace_id)

    counts = {name: len(values) for name, values in lists.items()}
    counts.update(seen=len(reported), updated=updated, tags_checked=len(batch))
    return {
        "counts": counts,
        "tag_cursor": batch[-1] if batch else 0,
        **{name: sorted(values, key=str)[:REPORT_LIST_LIMIT] for name, values in lists.items()},
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
        for name in ("adopted", "missing", "terminated", "stopped_by_aws", "lost_tag", "in_flight"):
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
