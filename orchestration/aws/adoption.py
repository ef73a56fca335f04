"""The two calls only the customer's temporary adoption/release role makes: tag a WorkSpace
PartnerManaged=true (adopt) and remove that tag (release).

The steady-state role never sets or removes the partner tag (seed rule R2; the customer's IAM policy
refuses it too). These functions refuse an access that is not the adoption role's, before any call, so
no code path can send either call with the steady-state role.
"""

from .calls import aws_call, request_id_of
from .errors import TagGuardRefused
from .tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE
from .types import AccountAccess

# The role the customer's temporary stack creates; its ARN is derived from the account, never typed.
ADOPTION_ROLE_NAME = "PartnerAdoptionRole"


def adoption_role_arn(*, account_id: str, partner_role_arn: str = "") -> str:
    """The adoption role's ARN in the customer's account, in the partition of the steady-state role."""
    partition = partner_role_arn.split(":")[1] if partner_role_arn.count(":") >= 5 else "aws"
    return f"arn:{partition}:iam::{account_id}:role/{ADOPTION_ROLE_NAME}"


def is_adoption_access(access: AccountAccess) -> bool:
    """Whether this access assumes the adoption role of its own account."""
    return access.auth_mode == "ASSUME_ROLE" and access.role_arn == adoption_role_arn(
        account_id=access.account_id, partner_role_arn=access.role_arn
    )


def _ensure_adoption_access(access: AccountAccess, operation: str) -> None:
    if not is_adoption_access(access):
        raise TagGuardRefused(
            code="TagGuardRefused",
            message=(
                f"The {PARTNER_TAG_KEY} tag is set or removed only through the customer's temporary "
                f"{ADOPTION_ROLE_NAME}, never with the steady-state role."
            ),
            operation=operation,
        )


def workspace_tag_partner_managed(access: AccountAccess, workspace_id: str) -> str:
    """CreateTags PartnerManaged=true on one WorkSpace (adoption); returns AWS's request id.

    Setting a tag to the value it has is a no-op in AWS, so a retry after a lost answer is harmless.
    """
    _ensure_adoption_access(access, "create_tags")
    response = aws_call(
        access,
        "workspaces",
        "create_tags",
        ResourceId=workspace_id,
        Tags=[{"Key": PARTNER_TAG_KEY, "Value": PARTNER_TAG_VALUE}],
    )
    return request_id_of(response)


def workspace_untag_partner_managed(access: AccountAccess, workspace_id: str) -> str:
    """DeleteTags of the PartnerManaged key on one WorkSpace (release); returns AWS's request id.

    Removing a key the resource does not carry succeeds, so a retry is harmless too.
    """
    _ensure_adoption_access(access, "delete_tags")
    response = aws_call(
        access, "workspaces", "delete_tags", ResourceId=workspace_id, TagKeys=[PARTNER_TAG_KEY]
    )
    return request_id_of(response)
