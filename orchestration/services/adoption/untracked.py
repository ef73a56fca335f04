"""WorkSpaces in a customer's account that we do not manage: what reconciliation records, what faces list."""

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from orchestration.aws.types import Workspace
from tenants.access import Principal
from tenants.models import AwsAccount, Desktop, UntrackedWorkspace

UNTRACKED_OWNER = "aws_account__customer_id"
# What a later listing changes on a recorded row (first_seen_at stays).
_REFRESHED_FIELDS = [
    "aws_account",
    "region",
    "directory_id",
    "user_name",
    "computer_name",
    "state",
    "bundle_id",
    "running_mode",
    "tags",
    "last_seen_at",
]


def untracked_workspace_list(
    *, principal: Principal, customer_id: int | None = None
) -> QuerySet[UntrackedWorkspace]:
    """The untracked WorkSpaces of the customers a principal sees (one customer's with `customer_id`)."""
    rows = principal.scope(UntrackedWorkspace.objects.all(), UNTRACKED_OWNER).select_related(
        "aws_account__customer"
    )
    if customer_id is not None:
        rows = rows.filter(aws_account__customer_id=customer_id)
    return rows.order_by("aws_account__account_id", "region", "user_name", "workspace_id")


def untracked_workspaces_record(
    *,
    aws_account: AwsAccount,
    region: str,
    untagged: Sequence[tuple[Workspace, dict[str, str]]],
    seen_at: datetime,
) -> int:
    """Reconciliation's listing of one account and region: a row for every untagged WorkSpace it listed
    (new ones get `first_seen_at`, every one `last_seen_at`), and no row for any other of that account and
    region (AWS no longer lists it, it is going, or it became ours). Returns how many rows there are.

    A WorkSpace a managed desktop row names is ours already (adopted while the listing ran): no row.
    Two statements and a lookup, however many WorkSpaces.
    """
    ids = [workspace.workspace_id for workspace, _ in untagged]
    ours = set(
        Desktop.objects.filter(workspace_id__in=ids, unmanaged_at__isnull=True).values_list(
            "workspace_id", flat=True
        )
    )
    rows = [
        UntrackedWorkspace(
            aws_account=aws_account,
            region=region,
            workspace_id=workspace.workspace_id,
            directory_id=workspace.directory_id,
            user_name=workspace.user_name,
            computer_name=workspace.computer_name,
            state=workspace.state,
            bundle_id=workspace.bundle_id,
            running_mode=workspace.running_mode,
            tags=tags,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
        )
        for workspace, tags in untagged
        if workspace.workspace_id not in ours
    ]
    with transaction.atomic():
        if rows:
            UntrackedWorkspace.objects.bulk_create(
                rows,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["workspace_id"],
                update_fields=_REFRESHED_FIELDS,
            )
        UntrackedWorkspace.objects.filter(aws_account=aws_account, region=region).exclude(
            workspace_id__in=[row.workspace_id for row in rows]
        ).delete()
    return len(rows)
