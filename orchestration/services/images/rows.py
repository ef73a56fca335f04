"""The one mapping from what AWS reports of a WorkSpaces image to our Image row."""

from orchestration.aws.images import WorkspaceImage
from tenants.choices import Tenancy

# WorkspaceImageRequiredTenancy says DEFAULT where our Tenancy says SHARED.
AWS_TENANCY = {"DEDICATED": Tenancy.DEDICATED, "DEFAULT": Tenancy.SHARED}


def _error_text(image: WorkspaceImage) -> str:
    """AWS's message for a failed image with each ErrorDetails entry after it, in AWS's words."""
    details = "; ".join(f"{d.code}: {d.message}" for d in image.error_details)
    if image.error_message and details:
        return f"{image.error_message} (details: {details})"
    return image.error_message or details


def image_fields(image: WorkspaceImage, now) -> dict:
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
