"""Bringing our Image rows up to date with AWS, per account and region (reconciliation's image part)."""

from django.utils import timezone

from orchestration.aws.images import workspace_images_owned
from orchestration.aws.tagguard import is_partner_managed
from orchestration.aws.workspaces import resource_tags
from orchestration.services.accounts import account_access
from orchestration.services.images.rows import image_fields
from tenants.models import AwsAccount, Image


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
        fields = image_fields(aws_image, now)
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
