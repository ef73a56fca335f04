"""Asking for an image: pick and import a customer AMI (BYOP), image a desktop, copy to other regions.

Every request is checked before anything is sent to AWS (F11); refusals that concern an existing
resource are audited as REFUSED. Each request that passes becomes a job (orchestration/services/images/
runner.py runs it).
"""

import re
from dataclasses import replace

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.aws.images import Ami, account_dedicated_tenancy, ami_get, amis_list
from orchestration.aws.types import AccountAccess
from orchestration.choices import JobKind
from orchestration.engine.jobs import NewItem
from orchestration.models import Job
from orchestration.services.accounts import account_access
from orchestration.services.errors import RequestInvalid
from orchestration.services.guard import guard_problem, refuse_change
from orchestration.services.images.runner import IMAGE_RUNNERS
from tenants.choices import DedicatedTenancySupport, DesktopState, ImageState, IngestionProcess
from tenants.models import AwsAccount, Desktop, Image

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
    return IMAGE_RUNNERS[kind].job_create(
        actor=actor,
        customer=aws_account.customer,
        params={"aws_account_id": aws_account.account_id, **params},
        items=[NewItem(params=item, desktop=desktop) for item in items],
    )


def _import_request_problems(
    aws_account: AwsAccount, region: str, ami_id: str, name: str, description: str, ingestion_process: str
) -> _Errors:
    """What is wrong with an import request, judged without AWS."""
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
    return errors


def _ami_and_account_problems(
    aws_account: AwsAccount, region: str, ami_id: str, errors: _Errors
) -> Ami | None:
    """Read the AMI (one DescribeImages) and, with no record of BYOL, the account; add what stops the import."""
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
    return ami


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
    called for a request that fails any check; a refusal about an AMI that exists is audited.
    """
    region = region or aws_account.default_region
    description = description or f"Imported from {ami_id}"
    errors = _import_request_problems(aws_account, region, ami_id, name, description, ingestion_process)
    if errors:
        raise ImageInvalid(errors)
    ami = _ami_and_account_problems(aws_account, region, ami_id, errors)
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
