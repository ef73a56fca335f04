"""Bundles (R7, R11): create from one of our images, point at a new image, delete, sync.

Each is one short AWS call, so it runs at once (no job), audited with the actor, after validation that
names the field to fix. Changes to an existing bundle pass the tag guard first. A create whose response
was lost is found again by its name, which WorkSpaces keeps unique in an account.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from django.db.models import ProtectedError
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws import bundles as aws_bundles
from orchestration.aws.bundles import WorkspaceBundle
from orchestration.aws.errors import AwsError, AwsPermanent, AwsTransient
from orchestration.aws.tagguard import is_partner_managed, partner_tags
from orchestration.aws.types import AccountAccess
from orchestration.aws.workspaces import resource_tags
from orchestration.choices import AuditOutcome
from orchestration.services.accounts import account_access
from orchestration.services.errors import RequestInvalid
from orchestration.services.guard import audit_change, guarded_change, refuse_change
from tenants.choices import ComputeType, ImageState
from tenants.models import DESKTOP_IS_LIVE, AwsAccount, Bundle, Desktop, Image

# The service model's patterns for CreateWorkspaceBundle.
BUNDLE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_./()\\-]{1,64}$")
BUNDLE_DESCRIPTION_PATTERN = re.compile(r"^[a-zA-Z0-9_./() -]{1,255}$")
G4DN_COMPUTE_TYPES = frozenset({ComputeType.GRAPHICS_G4DN, ComputeType.GRAPHICSPRO_G4DN})
# Root and user volume combinations WorkSpaces accepts (GiB).
SMALL_ROOT_GIB = 80
SMALL_ROOT_USER_GIB = (10, 50, 100)
LARGE_ROOT_GIB = (175, 2000)
LARGE_ROOT_USER_GIB = (100, 2000)
STORAGE_RULE = (
    f"root {SMALL_ROOT_GIB} GiB with user {', '.join(map(str, SMALL_ROOT_USER_GIB))} GiB, or root "
    f"{LARGE_ROOT_GIB[0]}-{LARGE_ROOT_GIB[1]} GiB with user {LARGE_ROOT_USER_GIB[0]}-{LARGE_ROOT_USER_GIB[1]} GiB"
)


class BundleInvalid(RequestInvalid):
    """A bundle request that cannot be sent to AWS as it stands."""


@dataclass
class BundleCreateRequest:
    """A bundle to make: an AVAILABLE image of ours, a compute type and a storage combination."""

    aws_account: AwsAccount
    region: str
    name: str
    description: str
    image: Image
    compute_type: str
    root_volume_gib: int
    user_volume_gib: int


def storage_combination_ok(root_volume_gib: int, user_volume_gib: int) -> bool:
    """Whether WorkSpaces accepts this root and user volume pair."""
    if root_volume_gib == SMALL_ROOT_GIB:
        return user_volume_gib in SMALL_ROOT_USER_GIB
    return (
        LARGE_ROOT_GIB[0] <= root_volume_gib <= LARGE_ROOT_GIB[1]
        and LARGE_ROOT_USER_GIB[0] <= user_volume_gib <= LARGE_ROOT_USER_GIB[1]
    )


def _image_problems(image: Image, aws_account: AwsAccount, region: str, compute_type: str) -> list[str]:
    """Why this image cannot back a bundle in this account and region (empty: it can)."""
    problems = []
    if image.aws_account_id != aws_account.pk:
        problems.append(f"Image {image.image_id} is not in AWS account {aws_account.account_id}.")
    elif image.region != region:
        problems.append(f"Image {image.image_id} is in {image.region}, not {region}: copy it there first.")
    if image.state != ImageState.AVAILABLE:
        problems.append(f"Image {image.image_id} is {image.state}; a bundle needs an AVAILABLE image.")
    g4dn_image = "G4DN" in (image.ingestion_process or "")
    if compute_type and g4dn_image != (compute_type in G4DN_COMPUTE_TYPES):
        problems.append(
            f"Image {image.image_id} was imported for {'G4DN' if g4dn_image else 'non-G4DN'} compute; "
            f"{compute_type} does not match it."
        )
    return problems


def _validate_create(request: BundleCreateRequest) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    account = request.aws_account
    if request.region not in account.regions:
        add(
            "region",
            f"{request.region!r} is not one of this account's regions ({', '.join(account.regions)}).",
        )
    if not BUNDLE_NAME_PATTERN.match(request.name or ""):
        add("name", "1 to 64 characters: letters, digits and _ . / ( ) \\ - (no spaces).")
    elif Bundle.objects.filter(aws_account=account, region=request.region, name=request.name).exists():
        add("name", f"This account already has a bundle named {request.name!r} in {request.region}.")
    if not BUNDLE_DESCRIPTION_PATTERN.match(request.description or ""):
        add("description", "1 to 255 characters: letters, digits, spaces and _ . / ( ) -.")
    if request.compute_type not in ComputeType.values:
        add("compute_type", f"Unknown compute type {request.compute_type!r}.")
    for problem in _image_problems(
        request.image,
        account,
        request.region,
        request.compute_type if request.compute_type in ComputeType.values else "",
    ):
        add("image", problem)
    root, user = request.root_volume_gib, request.user_volume_gib
    if not isinstance(root, int) or not isinstance(user, int) or not storage_combination_ok(root, user):
        add("root_volume_gib", f"Root {root} GiB with user {user} GiB is not supported: use {STORAGE_RULE}.")
    if errors:
        raise BundleInvalid(errors)


def _record_bundle(request: BundleCreateRequest, made: WorkspaceBundle) -> Bundle:
    return Bundle.objects.create(
        aws_account=request.aws_account,
        region=request.region,
        bundle_id=made.bundle_id,
        name=request.name,
        description=request.description,
        image=request.image,
        compute_type=request.compute_type,
        root_volume_gib=request.root_volume_gib,
        user_volume_gib=request.user_volume_gib,
        state=made.state or ImageState.AVAILABLE,
        tags=partner_tags(),
        last_synced_at=timezone.now(),
    )


def bundle_create(*, actor: Actor, request: BundleCreateRequest) -> Bundle:
    """Validate, then CreateWorkspaceBundle once (tagged PartnerManaged=true) and record the bundle."""
    _validate_create(request)
    account = AwsAccount.objects.select_related("customer").get(pk=request.aws_account.pk)
    access = account_access(account, region=request.region)
    action = "CreateWorkspaceBundle"
    details = {
        "name": request.name,
        "image_id": request.image.image_id,
        "compute_type": request.compute_type,
        "root_volume_gib": request.root_volume_gib,
        "user_volume_gib": request.user_volume_gib,
    }
    adopted = False
    try:
        created = aws_bundles.bundle_create(
            access,
            name=request.name,
            description=request.description,
            image_id=request.image.image_id,
            compute_type=request.compute_type,
            root_volume_gib=request.root_volume_gib,
            user_volume_gib=request.user_volume_gib,
        )
        made, request_id = created.bundle, created.request_id
    except AwsError as error:
        # Only a transient answer can hide a bundle AWS made before the response was lost.
        found = _lost_create(access, request.name) if isinstance(error, AwsTransient) else None
        if found is None:
            audit_change(
                actor,
                account,
                request.region,
                action=action,
                target_type="bundle",
                target_id=request.name,
                outcome=AuditOutcome.FAILED,
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=error.message,
                details=details,
            )
            raise
        made, request_id, adopted = found, error.request_id, True
    audit_change(
        actor,
        account,
        request.region,
        action=action,
        target_type="bundle",
        target_id=made.bundle_id,
        outcome=AuditOutcome.SUCCEEDED,
        aws_request_id=request_id,
        details={**details, "adopted": adopted},
    )
    return _record_bundle(request, made)


def _lost_create(access: AccountAccess, name: str) -> WorkspaceBundle | None:
    """The bundle a create whose response was lost may have made, found by its unique name."""
    try:
        return aws_bundles.bundle_find_by_name(access, name)
    except AwsError:
        return None  # cannot tell: the caller reports the create's own error


def _load(bundle: Bundle) -> Bundle:
    return Bundle.objects.select_related("aws_account__customer", "image").get(pk=bundle.pk)


def _refuse(actor: Actor, bundle: Bundle, action: str, errors: dict[str, list[str]]) -> NoReturn:
    refuse_change(
        actor,
        bundle.aws_account,
        bundle.region,
        target_type="bundle",
        target_id=bundle.bundle_id,
        action=action,
        invalid=BundleInvalid(errors),
    )


def _change(
    actor: Actor, bundle: Bundle, action: str, call: Callable[[AccountAccess], str], details: dict
) -> None:
    guarded_change(
        actor,
        bundle,
        target_type="bundle",
        target_id=bundle.bundle_id,
        action=action,
        call=call,
        details=details,
    )


def bundle_update_image(*, actor: Actor, bundle: Bundle, image: Image) -> Bundle:
    """Point the bundle at a new AVAILABLE image (UpdateWorkspaceBundle): new desktops start from it."""
    bundle = _load(bundle)
    action = "UpdateWorkspaceBundle"
    problems = _image_problems(image, bundle.aws_account, bundle.region, bundle.compute_type)
    if bundle.image_id == image.pk:
        problems.append(f"The bundle already uses {image.image_id}.")
    if problems:
        _refuse(actor, bundle, action, {"image": problems})
    previous = bundle.image.image_id if bundle.image else ""
    _change(
        actor,
        bundle,
        action,
        lambda access: aws_bundles.bundle_update_image(access, bundle.bundle_id, image.image_id),
        details={"ImageId": image.image_id, "previous_image_id": previous},
    )
    bundle.image = image
    bundle.last_synced_at = timezone.now()
    bundle.save(update_fields=["image", "last_synced_at", "updated_at"])
    return bundle


def bundle_delete(*, actor: Actor, bundle: Bundle) -> None:
    """DeleteWorkspaceBundle; refused locally while live desktops or a golden-image pipeline use it.

    AWS refuses too (ResourceAssociated) while WorkSpaces we do not know of use it. Our row goes with
    the bundle, unless terminated desktops still point at it: then it stays, marked missing from AWS.
    """
    bundle = _load(bundle)
    action = "DeleteWorkspaceBundle"
    problems = []
    live = Desktop.objects.filter(DESKTOP_IS_LIVE, bundle=bundle).count()
    if live:
        problems.append(f"{live} live desktops use {bundle.bundle_id}: terminate or migrate them first.")
    pipelines = list(bundle.golden_image_pipelines.values_list("name", flat=True))
    if pipelines:
        problems.append(f"Golden-image pipelines update this bundle: {', '.join(pipelines)}.")
    if problems:
        _refuse(actor, bundle, action, {"bundle": problems})
    _change(
        actor, bundle, action, lambda access: aws_bundles.bundle_delete(access, bundle.bundle_id), details={}
    )
    try:
        bundle.delete()
    except ProtectedError:
        Bundle.objects.filter(pk=bundle.pk).update(missing_from_aws_since=timezone.now())


def bundle_sync(*, aws_account: AwsAccount, region: str, access: AccountAccess | None = None) -> dict:
    """Bring our Bundle rows in `region` up to date with the bundles the account owns.

    Tags are read for every bundle each time (bundles are few): a bundle of ours that lost
    PartnerManaged is reported, a tagged bundle we have no row for is adopted, an untagged one is only
    listed. Rows AWS no longer lists are marked missing.
    """
    access = access or account_access(aws_account, region=region)
    started = timezone.now()
    reported = list(aws_bundles.bundles_list(access))
    rows = {b.bundle_id: b for b in Bundle.objects.filter(bundle_id__in=[b.bundle_id for b in reported])}
    images = {
        i.image_id: i
        for i in Image.objects.filter(aws_account=aws_account, image_id__in=[b.image_id for b in reported])
    }
    report: dict = {"seen": len(reported), "adopted": [], "untracked": [], "missing": [], "lost_tag": []}
    now = timezone.now()
    for bundle in reported:
        row = rows.get(bundle.bundle_id)
        if row is not None and row.aws_account_id != aws_account.pk:
            continue  # recorded under another account connection: not this account's to rewrite
        try:
            tags = resource_tags(access, bundle.bundle_id)
        except AwsPermanent:
            continue  # deleted between the list and this read
        if row is None:
            if not is_partner_managed(tags):
                report["untracked"].append({"bundle_id": bundle.bundle_id, "name": bundle.name})
                continue
            row = Bundle(aws_account=aws_account, region=region, bundle_id=bundle.bundle_id)
            report["adopted"].append(bundle.bundle_id)
        elif is_partner_managed(row.tags) and not is_partner_managed(tags):
            report["lost_tag"].append(bundle.bundle_id)
        row.name = bundle.name
        row.description = bundle.description
        row.image = images.get(bundle.image_id)
        row.compute_type = bundle.compute_type or row.compute_type
        row.root_volume_gib = bundle.root_volume_gib or row.root_volume_gib
        row.user_volume_gib = bundle.user_volume_gib or row.user_volume_gib
        row.state = bundle.state or ImageState.AVAILABLE
        row.tags = tags
        row.missing_from_aws_since = None
        row.last_synced_at = now
        row.save()
    missing = Bundle.objects.filter(aws_account=aws_account, region=region, updated_at__lt=started).exclude(
        bundle_id__in=[b.bundle_id for b in reported]
    )
    report["missing"] = sorted(missing.values_list("bundle_id", flat=True))
    missing.filter(missing_from_aws_since__isnull=True).update(missing_from_aws_since=now, updated_at=now)
    return report
