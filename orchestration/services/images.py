"""WorkSpaces images: pick and import a customer AMI, image a desktop, copy across regions, share, delete, sync.

Every request is checked before anything is sent to AWS (F11); refusals that concern an existing
resource are audited as REFUSED. Import, create and copy are jobs: an item is marked submitted before
its create call, and a later delivery first looks for the image by the name we gave it and adopts it
(none of the three has an idempotency token). The `Image` row appears when AWS returns the image id; the
shared poll follows it to AVAILABLE or ERROR with AWS's own code, message and details.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Unpack

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
)
from orchestration.aws.images import (
    Ami,
    ImageMade,
    WorkspaceImage,
    account_dedicated_tenancy,
    ami_get,
    amis_list,
    workspace_image_copy,
    workspace_image_create,
    workspace_image_delete,
    workspace_image_find,
    workspace_image_import,
    workspace_image_permission_update,
    workspace_image_permissions,
    workspace_images_describe,
    workspace_images_owned,
)
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.types import AccountAccess
from orchestration.aws.workspaces import resource_tags
from orchestration.choices import AuditOutcome, JobItemStatus, JobKind, Queue
from orchestration.failpoints import failpoint
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import AuditResult, audit_event_for_job, audit_record_many
from orchestration.services.errors import RequestInvalid
from orchestration.services.guard import audit_change, guard_problem, refuse_change
from orchestration.services.jobs import (
    items_claim,
    items_release,
    job_dispatch_items,
)
from orchestration.services.polling import poll_items_due, poll_while_waiting
from tenants.choices import (
    PARTNER_TAG_KEY,
    PARTNER_TAG_VALUE,
    DedicatedTenancySupport,
    DesktopState,
    ImageState,
    IngestionProcess,
    Tenancy,
    VerificationStatus,
)
from tenants.models import AwsAccount, Bundle, Desktop, Image

# The service model's patterns (WorkspaceImageName, WorkspaceImageDescription, Ec2ImageId, AwsAccount).
IMAGE_NAME_RE = re.compile(r"[a-zA-Z0-9_./()\\-]+")
IMAGE_NAME_MAX = 64
IMAGE_DESCRIPTION_RE = re.compile(r"[a-zA-Z0-9_./() -]+")
IMAGE_DESCRIPTION_MAX = 256
AMI_ID_RE = re.compile(r"ami-([a-f0-9]{8}|[a-f0-9]{17})")
ACCOUNT_ID_RE = re.compile(r"\d{12}")
REGION_RE = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
# WorkSpaces Core imports only with a Bring Your Own Protocol ingestion process (seed rule R4).
BYOP_INGESTION_PROCESSES = (IngestionProcess.BYOL_REGULAR_BYOP, IngestionProcess.BYOL_GRAPHICS_G4DN_BYOP)
# A BYOL image is one volume of at most 70 GB with at least 10 GB free. The AMI shows the size, not how
# full it is: we refuse what cannot pass (over 70, or under 10 GiB) and leave the free space to AWS.
IMPORT_MAX_ROOT_GIB = 70
IMPORT_MIN_ROOT_GIB = 10
# Imports take most of an hour and copies twenty minutes: polling them as often as desktops wastes calls.
IMAGE_POLL_FACTOR = 4
# An image AWS has not shown for this long after its create call is taken as never made.
IMAGE_MISSING_GRACE = timedelta(minutes=10)
# WorkspaceImageRequiredTenancy says DEFAULT where our Tenancy says SHARED.
AWS_TENANCY = {"DEDICATED": Tenancy.DEDICATED, "DEFAULT": Tenancy.SHARED}


class ImageInvalid(RequestInvalid):
    """An image request that cannot be sent to AWS as it stands."""


class _Errors(dict[str, list[str]]):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def _check_name(errors: _Errors, name: str) -> None:
    if not name:
        errors.add("name", "Give the image a name.")
    elif len(name) > IMAGE_NAME_MAX:
        errors.add(
            "name", f"An image name has at most {IMAGE_NAME_MAX} characters; this one has {len(name)}."
        )
    elif not IMAGE_NAME_RE.fullmatch(name):
        bad = "".join(sorted({ch for ch in name if not IMAGE_NAME_RE.fullmatch(ch)}))
        errors.add(
            "name", f"Not allowed in an image name: {bad!r}. Use letters, digits and _ . / ( ) \\ - only."
        )


def image_description_safe(text: str) -> str:
    """`text` with every character an image description does not allow replaced by "-"."""
    return "".join(ch if IMAGE_DESCRIPTION_RE.fullmatch(ch) else "-" for ch in text)


def _check_description(errors: _Errors, description: str) -> None:
    if len(description) > IMAGE_DESCRIPTION_MAX:
        errors.add("description", f"A description has at most {IMAGE_DESCRIPTION_MAX} characters.")
    elif description and not IMAGE_DESCRIPTION_RE.fullmatch(description):
        bad = "".join(sorted({ch for ch in description if not IMAGE_DESCRIPTION_RE.fullmatch(ch)}))
        errors.add(
            "description",
            f"Not allowed in a description: {bad!r}. Use letters, digits, spaces and _ . / ( ) - only.",
        )


def _check_name_free(errors: _Errors, aws_account: AwsAccount, regions: list[str], name: str) -> None:
    """WorkSpaces image names are unique per region: say so now rather than after the call."""
    taken = Image.objects.filter(aws_account=aws_account, region__in=regions, name=name).order_by("region")
    for image in taken:
        errors.add("name", f"An image named {name!r} already exists in {image.region} ({image.image_id}).")


def ami_problems(ami: Ami) -> tuple[str, ...]:
    """Why WorkSpaces would refuse to import this AMI, as far as its EC2 description shows."""
    problems = []
    if ami.state != "available":
        problems.append(f"The AMI is {ami.state}; it must be available.")
    if ami.image_type != "machine":
        problems.append(f"The AMI is a {ami.image_type} image; only machine images can be imported.")
    if ami.virtualization_type != "hvm":
        problems.append(f"The AMI uses {ami.virtualization_type} virtualization; WorkSpaces needs hvm.")
    if ami.encrypted:
        problems.append("The AMI's volume is encrypted; WorkSpaces does not import encrypted AMIs.")
    if "windows" not in ami.platform_details.lower():
        problems.append(
            f"The AMI's platform is {ami.platform_details or 'unknown'}; only Windows client images can be imported."
        )
    if ami.volume_size is None:
        problems.append("The AMI has no EBS root volume.")
    elif ami.volume_size > IMPORT_MAX_ROOT_GIB:
        problems.append(
            f"The root volume is {ami.volume_size} GiB; WorkSpaces imports at most {IMPORT_MAX_ROOT_GIB} GiB."
        )
    elif ami.volume_size < IMPORT_MIN_ROOT_GIB:
        problems.append(
            f"The root volume is {ami.volume_size} GiB; WorkSpaces needs at least 10 GB free on it, "
            f"so it must be {IMPORT_MIN_ROOT_GIB} GiB or more."
        )
    return tuple(problems)


def ami_list(*, aws_account: AwsAccount, region: str) -> list[Ami]:
    """The account's AMIs with the seed's filters and columns, each with the reasons it cannot be imported."""
    access = account_access(aws_account, region=region or aws_account.default_region)
    return [replace(ami, problems=ami_problems(ami)) for ami in amis_list(access)]


def _byol_problem(aws_account: AwsAccount, access: AccountAccess) -> str:
    """Why the account cannot take a BYOL image yet, or "" (asks DescribeAccount when we have no record)."""
    if aws_account.dedicated_tenancy_support == DedicatedTenancySupport.ENABLED:
        return ""
    try:
        support = account_dedicated_tenancy(access)
    except AwsError as error:
        return f"Could not read the account's BYOL status from AWS: {error}"
    if support == DedicatedTenancySupport.ENABLED:
        # Keep what AWS said, so the next import needs no read.
        AwsAccount.objects.filter(pk=aws_account.pk).update(dedicated_tenancy_support=support)
        aws_account.dedicated_tenancy_support = support
        return ""
    return (
        f"BYOL is not configured in account {aws_account.account_id} (DedicatedTenancySupport is "
        f"{support or 'not reported'}): run the BYOL account setup first."
    )


def _job_create(
    *,
    actor: Actor,
    aws_account: AwsAccount,
    kind: str,
    params: dict,
    items: list[dict],
    desktop: Desktop | None = None,
) -> Job:
    """The job and its items in one transaction; the tasks are sent after commit."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            customer=aws_account.customer,
            queue=Queue.INTERACTIVE if len(items) == 1 else Queue.BULK,
            requested_by_kind=actor.kind,
            requested_by_user_id=actor.user_id,
            requested_by_label=actor.label,
            total_items=len(items),
            params={"aws_account_id": aws_account.account_id, **params},
        )
        rows = JobItem.objects.bulk_create(
            JobItem(job=job, sequence=n, params=item, desktop=desktop) for n, item in enumerate(items)
        )
        job_dispatch_items(job, [row.pk for row in rows])
    return job


def image_import(
    *,
    actor: Actor,
    aws_account: AwsAccount,
    region: str,
    ami_id: str,
    name: str,
    description: str = "",
    ingestion_process: str = IngestionProcess.BYOL_REGULAR_BYOP,
) -> Job:
    """Import a customer AMI as a WorkSpaces image (a job), after checking the request, the AMI and the account.

    The id, name and choices are checked locally first; only then is the AMI read (one DescribeImages)
    and, if we have no record of BYOL, the account (one DescribeAccount). ImportWorkspaceImage is never
    called for a request that fails any check.
    """
    region = region or aws_account.default_region
    description = description or f"Imported from {ami_id}"
    errors = _Errors()
    if not AMI_ID_RE.fullmatch(ami_id):
        errors.add("ami_id", f"{ami_id!r} is not an AMI id (ami- and 8 or 17 hexadecimal digits).")
    _check_name(errors, name)
    _check_description(errors, description)
    if ingestion_process not in IngestionProcess.values:
        errors.add("ingestion_process", f"Unknown ingestion process {ingestion_process!r}.")
    elif ingestion_process not in BYOP_INGESTION_PROCESSES:
        errors.add(
            "ingestion_process",
            f"{ingestion_process} is not a Bring Your Own Protocol process: WorkSpaces Core imports use "
            f"{' or '.join(BYOP_INGESTION_PROCESSES)}.",
        )
    if not aws_account.byop_enabled:
        errors.add(
            "aws_account",
            f"Account {aws_account.account_id} is not enabled for Bring Your Own Protocol: the customer asks "
            "their AWS account manager, then BYOP is ticked on the account.",
        )
    if region not in aws_account.regions:
        errors.add(
            "region", f"{region} is not one of the account's regions ({', '.join(aws_account.regions)})."
        )
    _check_name_free(errors, aws_account, [region], name)
    if errors:
        raise ImageInvalid(errors)

    access = account_access(aws_account, region=region)
    ami = None
    try:
        ami = ami_get(access, ami_id)
    except AwsError as error:
        errors.add("ami_id", f"Could not read the AMI from AWS: {error}")
    else:
        if ami is None:
            errors.add("ami_id", f"Account {aws_account.account_id} owns no AMI {ami_id} in {region}.")
        for problem in ami_problems(ami) if ami else ():
            errors.add("ami_id", problem)
    byol = _byol_problem(aws_account, access)
    if byol:
        errors.add("aws_account", byol)
    if errors:
        if ami is None:
            raise ImageInvalid(errors)
        refuse_change(
            actor,
            aws_account,
            region,
            action="ImportWorkspaceImage",
            target_type="ami",
            target_id=ami_id,
            invalid=ImageInvalid(dict(errors)),
            error_code="ValidationFailed",
        )
    item = {
        "region": region,
        "name": name,
        "description": description,
        "ami_id": ami_id,
        "ingestion_process": ingestion_process,
    }
    return _job_create(
        actor=actor, aws_account=aws_account, kind=JobKind.IMAGE_IMPORT, params=item, items=[item]
    )


def image_create_from_desktop(*, actor: Actor, desktop: Desktop, name: str, description: str = "") -> Job:
    """Image one of our AVAILABLE desktops (CreateWorkspaceImage, a job): the golden-image step (R11)."""
    account = desktop.aws_account
    description = description or f"Image of {desktop.workspace_id or 'a desktop'}"
    errors = _Errors()
    _check_name(errors, name)
    _check_description(errors, description)
    if not desktop.workspace_id:
        errors.add("desktop", "This desktop is not in AWS yet, so there is nothing to image.")
    elif desktop.state != DesktopState.AVAILABLE:
        errors.add(
            "desktop",
            f"{desktop.workspace_id} is {desktop.state}; an image can only be made from an AVAILABLE desktop.",
        )
    _check_name_free(errors, account, [desktop.region], name)
    if desktop.workspace_id and not errors:
        access = account_access(account, region=desktop.region)
        guard = guard_problem(
            access,
            resource=desktop,
            resource_id=desktop.workspace_id,
            operation="CreateWorkspaceImage",
            record=False,  # reconciliation records desktop tags and reports when they change
        )
        if guard:
            errors.add("desktop", guard)
    if errors:
        refuse_change(
            actor,
            account,
            desktop.region,
            action="CreateWorkspaceImage",
            target_type="desktop",
            target_id=desktop.workspace_id or f"desktop {desktop.pk}",
            invalid=ImageInvalid(dict(errors)),
            error_code="ValidationFailed",
        )
    item = {
        "region": desktop.region,
        "name": name,
        "description": description,
        "workspace_id": desktop.workspace_id,
    }
    return _job_create(
        actor=actor,
        aws_account=account,
        kind=JobKind.IMAGE_CREATE,
        params=item,
        items=[item],
        desktop=desktop,
    )


def image_copy(
    *, actor: Actor, image: Image, regions: list[str], name: str = "", description: str = ""
) -> Job:
    """Copy an AVAILABLE image to other regions of its account (CopyWorkspaceImage, one item per region)."""
    account = image.aws_account
    name = name or image.name
    errors = _Errors()
    _check_name(errors, name)
    _check_description(errors, description)
    if not regions:
        errors.add("regions", "Choose at least one region to copy to.")
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        errors.add("regions", f"Listed more than once: {', '.join(duplicates)}.")
    for region in dict.fromkeys(regions):
        if not REGION_RE.fullmatch(region):
            errors.add("regions", f"{region!r} is not a region name.")
        elif region == image.region:
            errors.add("regions", f"The image is already in {region}.")
        elif region not in account.regions:
            errors.add(
                "regions",
                f"{region} is not one of account {account.account_id}'s regions "
                f"({', '.join(account.regions)}): add it to the account first.",
            )
    if image.state != ImageState.AVAILABLE:
        errors.add("image", f"{image.image_id} is {image.state}; only an AVAILABLE image can be copied.")
    _check_name_free(errors, account, [r for r in regions if r != image.region], name)
    if errors:
        refuse_change(
            actor,
            account,
            image.region,
            action="CopyWorkspaceImage",
            target_type="image",
            target_id=image.image_id,
            invalid=ImageInvalid(dict(errors)),
            error_code="ValidationFailed",
        )
    items = [
        {
            "region": region,
            "name": name,
            "description": description,
            "source_image_id": image.image_id,
            "source_region": image.region,
        }
        for region in regions
    ]
    return _job_create(
        actor=actor,
        aws_account=account,
        kind=JobKind.IMAGE_COPY,
        params={"source_image_id": image.image_id, "source_region": image.region, "regions": regions},
        items=items,
    )


# --------------------------------------------------------------------------- running the jobs


@dataclass(frozen=True)
class _ImageMaker:
    """How one job kind makes its image: the AWS operation, the call, and what the new row records."""

    action: str
    make: Callable[[AccountAccess, dict], ImageMade]
    row: Callable[[dict], dict]


def _copy_row(params: dict) -> dict:
    source = Image.objects.filter(image_id=params["source_image_id"]).first()
    if source is None:
        return {}
    return {
        "source_image": source,
        "ingestion_process": source.ingestion_process,
        "required_tenancy": source.required_tenancy,
        "operating_system_type": source.operating_system_type,
    }


_IMPORT = _ImageMaker(
    action="ImportWorkspaceImage",
    make=lambda access, p: workspace_image_import(
        access,
        ami_id=p["ami_id"],
        ingestion_process=p["ingestion_process"],
        name=p["name"],
        description=p["description"],
    ),
    row=lambda p: {"source_ami_id": p["ami_id"], "ingestion_process": p["ingestion_process"]},
)
_CREATE = _ImageMaker(
    action="CreateWorkspaceImage",
    make=lambda access, p: workspace_image_create(
        access, workspace_id=p["workspace_id"], name=p["name"], description=p["description"]
    ),
    row=lambda p: {},
)
_COPY = _ImageMaker(
    action="CopyWorkspaceImage",
    make=lambda access, p: workspace_image_copy(
        access,
        source_image_id=p["source_image_id"],
        source_region=p["source_region"],
        name=p["name"],
        description=p["description"],
    ),
    row=_copy_row,
)


def _poll_interval() -> float:
    return settings.JOB_POLL_INTERVAL_SECONDS * IMAGE_POLL_FACTOR


def _retry_delay() -> float:
    """How long an item given back for a retry waits before its next delivery."""
    return max(1.0, settings.AWS_BACKOFF_BASE * 4)


def image_import_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery of an import item: adopt what a lost response made, else ImportWorkspaceImage."""
    _items_run(_IMPORT, job_id=job_id, item_ids=item_ids)


def image_create_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery of a create-from-desktop item: adopt by name, else CreateWorkspaceImage."""
    _items_run(_CREATE, job_id=job_id, item_ids=item_ids)


def image_copy_items_run(*, job_id: int, item_ids: list[int]) -> None:
    """One delivery of a copy item: adopt by name in the target region, else CopyWorkspaceImage there."""
    _items_run(_COPY, job_id=job_id, item_ids=item_ids)


def _items_run(maker: _ImageMaker, *, job_id: int, item_ids: list[int]) -> None:
    items = items_claim(job_id=job_id, item_ids=item_ids)
    if not items:
        return
    job = Job.objects.select_related("customer").get(pk=job_id)
    account = AwsAccount.objects.select_related("customer").get(account_id=job.params["aws_account_id"])
    events: list[AuditEvent] = []
    for item in items:
        events.extend(_item_run(maker, job, account, item))
    audit_record_many(events)
    poll_while_waiting(job, interval=_poll_interval())


def _item_run(maker: _ImageMaker, job: Job, account: AwsAccount, item: JobItem) -> list[AuditEvent]:
    params = item.params
    access = account_access(account, region=params["region"], job_id=job.pk)

    def event(
        outcome: str, target: str, *, details: dict | None = None, **fields: Unpack[AuditResult]
    ) -> AuditEvent:
        return audit_event_for_job(
            job,
            action=maker.action,
            outcome=outcome,
            aws_account_id=account.account_id,
            region=params["region"],
            target_type="image",
            target_id=target,
            details=details,
            **fields,
        )

    try:
        if item.submitted_at is not None:
            # An earlier delivery sent the create and never recorded the answer: look before making.
            found = workspace_image_find(access, name=params["name"])
            if found is not None:
                if not is_partner_managed(resource_tags(access, found.image_id)):
                    message = (
                        f"An image named {params['name']!r} exists ({found.image_id}) but is not tagged "
                        f"{PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it is not ours, so it was not adopted."
                    )
                    _item_fail(item, "ImageNameTaken", message)
                    return [
                        event(
                            AuditOutcome.FAILED,
                            params["name"],
                            error_code="ImageNameTaken",
                            error_message=message,
                        )
                    ]
                _record_made(maker, account, item, found.image_id, item.aws_request_id, found.state)
                return [
                    event(
                        AuditOutcome.SUCCEEDED,
                        found.image_id,
                        details={"adopted": True, "name": params["name"]},
                    )
                ]
        JobItem.objects.filter(pk=item.pk).update(submitted_at=timezone.now(), updated_at=timezone.now())
        made = maker.make(access, params)
    except AwsError as error:
        return _item_error(maker, job, account, item, error, event)
    failpoint("image.after_create_call")
    _record_made(maker, account, item, made.image_id, made.request_id, ImageState.PENDING)
    return [
        event(
            AuditOutcome.SUCCEEDED,
            made.image_id,
            aws_request_id=made.request_id,
            details={"name": params["name"]},
        )
    ]


def _record_made(
    maker: _ImageMaker, account: AwsAccount, item: JobItem, image_id: str, request_id: str, state: str
) -> None:
    """Write the image id the moment we know it; the item then waits for the image to settle."""
    now = timezone.now()
    params = item.params
    Image.objects.get_or_create(
        image_id=image_id,
        defaults={
            "aws_account": account,
            "region": params["region"],
            "name": params["name"],
            "description": params["description"],
            "state": state or ImageState.PENDING,
            "tags": {PARTNER_TAG_KEY: PARTNER_TAG_VALUE},
            "owner_account_id": account.account_id,
            "last_synced_at": now,
            **maker.row(params),
        },
    )
    JobItem.objects.filter(pk=item.pk).update(
        status=JobItemStatus.WAITING,
        aws_resource_id=image_id,
        aws_request_id=request_id,
        lease_expires_at=None,
        next_poll_at=now + timedelta(seconds=_poll_interval()),
        updated_at=now,
    )


def _item_fail(item: JobItem, code: str, message: str) -> None:
    now = timezone.now()
    JobItem.objects.filter(pk=item.pk).update(
        status=JobItemStatus.FAILED,
        error_code=code,
        error_message=message,
        lease_expires_at=None,
        next_poll_at=None,
        finished_at=now,
        updated_at=now,
    )


def _item_error(
    maker: _ImageMaker,
    job: Job,
    account: AwsAccount,
    item: JobItem,
    error: AwsError,
    event: Callable[..., AuditEvent],
) -> list[AuditEvent]:
    """Keep the item for later (throttled, transient, credentials) or fail it with AWS's words."""
    if isinstance(error, AwsThrottled | AwsTransient | AwsExpiredCredentials):
        # A transient error after a create may hide a success: it costs an attempt, and the submitted
        # mark makes the next delivery look for the image first. Throttling is AWS declining to act.
        items_release([item], count_attempt=not isinstance(error, AwsThrottled))
        job_dispatch_items(job, [item.pk], countdown=_retry_delay())
        return []
    _item_fail(item, error.code, error.message)
    if isinstance(error, AwsAccessDenied):
        AwsAccount.objects.filter(pk=account.pk).update(
            verification_status=VerificationStatus.FAILED,
            verification_message=f"{error.code}: {error.message}",
        )
    return [
        event(
            AuditOutcome.FAILED,
            item.params["name"],
            aws_request_id=error.request_id,
            error_code=error.code,
            error_message=error.message,
        )
    ]


def _error_text(image: WorkspaceImage) -> str:
    """AWS's message for a failed image with each ErrorDetails entry after it, in AWS's words."""
    details = "; ".join(f"{d.code}: {d.message}" for d in image.error_details)
    if image.error_message and details:
        return f"{image.error_message} (details: {details})"
    return image.error_message or details


def _image_fields(image: WorkspaceImage, now) -> dict:
    """Our Image row's fields from what AWS reports."""
    return {
        "name": image.name,
        "description": image.description,
        "state": image.state,
        "operating_system_type": image.operating_system_type,
        "required_tenancy": AWS_TENANCY.get(image.required_tenancy, ""),
        "owner_account_id": image.owner_account_id,
        "error_code": image.error_code or (image.error_details[0].code if image.error_details else ""),
        "error_message": _error_text(image),
        "last_synced_at": now,
        "missing_from_aws_since": None,
    }


def image_poll_run(*, job_id: int) -> None:
    """Describe the job's pending images (25 ids a call per region) and settle those AWS has settled."""
    due = poll_items_due(job_id=job_id, interval=_poll_interval())
    job = Job.objects.select_related("customer").get(pk=job_id)
    if due:
        account = AwsAccount.objects.select_related("customer").get(account_id=job.params["aws_account_id"])
        by_region: dict[str, list[JobItem]] = {}
        for item in due:
            by_region.setdefault(item.params["region"], []).append(item)
        for region, group in by_region.items():
            access = account_access(account, region=region, job_id=job.pk)
            try:
                reported = {
                    i.image_id: i
                    for i in workspace_images_describe(access, [i.aws_resource_id for i in group])
                }
            except (AwsThrottled, AwsTransient, AwsExpiredCredentials):
                continue  # the next poll asks again
            except AwsError as error:
                for item in group:
                    _item_fail(item, error.code, error.message)
                continue
            _settle(group, reported, timezone.now())
    poll_while_waiting(job, interval=_poll_interval())


def _settle(items: list[JobItem], reported: dict[str, WorkspaceImage], now) -> None:
    """Copy what AWS reports onto the Image rows; items whose image settled are finished."""
    for item in items:
        image = reported.get(item.aws_resource_id)
        if image is None:
            if item.submitted_at and now - item.submitted_at > IMAGE_MISSING_GRACE:
                _item_fail(item, "ImageNotFound", f"AWS no longer reports the image {item.aws_resource_id}.")
            continue  # AWS's describe can lag a create by a few seconds
        fields = _image_fields(image, now)
        Image.objects.filter(image_id=image.image_id).update(**fields, updated_at=now)
        if image.state == ImageState.AVAILABLE:
            JobItem.objects.filter(pk=item.pk).update(
                status=JobItemStatus.SUCCEEDED, next_poll_at=None, finished_at=now, updated_at=now
            )
        elif image.state == ImageState.ERROR:
            _item_fail(
                item,
                fields["error_code"] or "ImageError",
                fields["error_message"] or "The image went to ERROR.",
            )


# --------------------------------------------------------------------------- synchronous actions


def image_permission_list(*, image: Image) -> list[str]:
    """The accounts the image is shared with (DescribeWorkspaceImagePermissions, every page)."""
    access = account_access(image.aws_account, region=image.region)
    return workspace_image_permissions(access, image.image_id)


def image_permission_update(*, actor: Actor, image: Image, account_id: str, allow: bool) -> None:
    """Share the image with another AWS account (allow) or stop sharing it; audited, tag-guarded."""
    action = "UpdateWorkspaceImagePermission"
    account = image.aws_account
    errors = _Errors()
    if not ACCOUNT_ID_RE.fullmatch(account_id or ""):
        errors.add("account_id", f"{account_id!r} is not an AWS account id (exactly 12 digits).")
    elif account_id == account.account_id:
        errors.add("account_id", "An image cannot be shared with the account that owns it.")
    if image.state != ImageState.AVAILABLE:
        errors.add("image", f"{image.image_id} is {image.state}; only an AVAILABLE image can be shared.")
    _image_change(
        actor,
        image,
        action,
        errors,
        lambda access: workspace_image_permission_update(
            access, image_id=image.image_id, account_id=account_id, allow=allow
        ),
        details={"shared_account_id": account_id, "allow_copy_image": allow},
    )


def image_delete(*, actor: Actor, image: Image) -> None:
    """Delete the image in AWS and forget it; refused while a bundle uses it, while PENDING, or if not ours."""
    action = "DeleteWorkspaceImage"
    errors = _Errors()
    bundles = list(Bundle.objects.filter(image=image).order_by("name"))
    if bundles:
        names = ", ".join(f"{b.name} ({b.bundle_id})" for b in bundles)
        errors.add(
            "image", f"{image.image_id} is used by bundle(s) {names}: point them at another image first."
        )
    if image.state == ImageState.PENDING:
        errors.add("image", f"{image.image_id} is still PENDING; wait until it is AVAILABLE or ERROR.")
    _image_change(
        actor,
        image,
        action,
        errors,
        lambda access: workspace_image_delete(access, image.image_id),
        details={"name": image.name},
    )
    image.delete()


def _image_change(
    actor: Actor,
    image: Image,
    action: str,
    errors: _Errors,
    call: Callable[[AccountAccess], str],
    *,
    details: dict,
) -> None:
    """The local checks, then the tag guard: any refusal is audited and raised; else the one AWS call,
    audited whatever the outcome."""
    access = account_access(image.aws_account, region=image.region)
    if not errors:
        guard = guard_problem(access, resource=image, resource_id=image.image_id, operation=action)
        if guard:
            errors.add("image", guard)
    audit = {"action": action, "target_type": "image", "target_id": image.image_id}
    if errors:
        refuse_change(
            actor,
            image.aws_account,
            image.region,
            **audit,
            invalid=ImageInvalid(dict(errors)),
            error_code="ValidationFailed",
        )
    try:
        request_id = call(access)
    except AwsError as error:
        audit_change(
            actor,
            image.aws_account,
            image.region,
            **audit,
            outcome=AuditOutcome.FAILED,
            aws_request_id=error.request_id,
            error_code=error.code,
            error_message=error.message,
            details=details,
        )
        raise
    audit_change(
        actor,
        image.aws_account,
        image.region,
        **audit,
        outcome=AuditOutcome.SUCCEEDED,
        aws_request_id=request_id,
        details=details,
    )


def image_sync(*, aws_account: AwsAccount, region: str) -> dict:
    """Bring our Image rows for one account and region up to date with AWS (DescribeWorkspaceImages, paged).

    Known images get AWS's state and errors; images tagged PartnerManaged that we do not know are adopted
    (one DescribeTags each); the others are reported, not touched. Rows AWS no longer reports are marked.
    """
    access = account_access(aws_account, region=region)
    now = timezone.now()
    known = {image.image_id: image for image in Image.objects.filter(aws_account=aws_account, region=region)}
    seen: set[str] = set()
    state_changes: list[dict] = []
    adopted: list[str] = []
    not_ours: list[dict] = []
    for aws_image in workspace_images_owned(access):
        seen.add(aws_image.image_id)
        fields = _image_fields(aws_image, now)
        row = known.get(aws_image.image_id)
        if row is not None:
            if row.state != aws_image.state:
                state_changes.append({"image_id": row.image_id, "from": row.state, "to": aws_image.state})
            Image.objects.filter(pk=row.pk).update(**fields, updated_at=now)
            continue
        tags = resource_tags(access, aws_image.image_id)
        if not is_partner_managed(tags):
            not_ours.append(
                {"image_id": aws_image.image_id, "name": aws_image.name, "state": aws_image.state}
            )
            continue
        _, created = Image.objects.get_or_create(
            image_id=aws_image.image_id,
            defaults={"aws_account": aws_account, "region": region, "tags": tags, **fields},
        )
        if created:
            adopted.append(aws_image.image_id)
    missing = sorted(set(known) - seen)
    Image.objects.filter(pk__in=[known[i].pk for i in missing], missing_from_aws_since__isnull=True).update(
        missing_from_aws_since=now, updated_at=now
    )
    return {
        "aws_account_id": aws_account.account_id,
        "region": region,
        "images_in_aws": len(seen),
        "state_changes": state_changes,
        "adopted": adopted,
        "not_ours": not_ours,
        "missing": missing,
    }
