"""Changes to an existing image, done at once: share or stop sharing it, delete it. Each is checked, then
tag-guarded, then one audited AWS call."""

from collections.abc import Callable

from django.conf import settings

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.aws.images import (
    workspace_image_delete,
    workspace_image_permission_update,
    workspace_image_permissions,
)
from orchestration.aws.types import AccountAccess
from orchestration.choices import AuditOutcome
from orchestration.services.accounts import account_access
from orchestration.services.guard import audit_change, guard_problem, refuse_change
from orchestration.services.images.requests import ACCOUNT_ID_RE, ImageInvalid, _Errors
from tenants.choices import ImageState
from tenants.models import Bundle, Image


def image_permission_list(*, image: Image) -> list[str]:
    """The accounts the image is shared with (DescribeWorkspaceImagePermissions, every page)."""
    access = account_access(image.aws_account, region=image.region)
    return workspace_image_permissions(access, image.image_id)


def image_permission_update(*, actor: Actor, image: Image, account_id: str, allow: bool) -> None:
    """Share the image with the partner's AWS account (allow) or stop sharing it with any account; audited,
    tag-guarded. A customer's image is never shared with another account (another customer's above all):
    IAM cannot say with whom the customer's role may share, so this is where that is kept."""
    action = "UpdateWorkspaceImagePermission"
    account = image.aws_account
    errors = _Errors()
    if not ACCOUNT_ID_RE.fullmatch(account_id or ""):
        errors.add("account_id", f"{account_id!r} is not an AWS account id (exactly 12 digits).")
    elif account_id == account.account_id:
        errors.add("account_id", "An image cannot be shared with the account that owns it.")
    elif allow and account_id != settings.PARTNER_AWS_ACCOUNT_ID:
        errors.add(
            "account_id",
            f"Images are shared only with the partner's account {settings.PARTNER_AWS_ACCOUNT_ID}, "
            f"not {account_id}.",
        )
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
