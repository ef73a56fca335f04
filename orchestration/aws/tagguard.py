"""The tag guard: we make only tagged resources and touch only those (seed rule R2, threat S5).

It mirrors the customer's IAM policy locally, so a resource that is not ours is refused before any
call, even where the customer's IAM would have allowed it.
"""

from .errors import TagGuardRefused

# The one definition of the partner tag: the customer's IAM policy (orchestration/onboarding) names it too.
PARTNER_TAG_KEY = "PartnerManaged"
PARTNER_TAG_VALUE = "true"


def partner_tags() -> dict[str, str]:
    """The tags a resource we made carries, as our rows record them."""
    return {PARTNER_TAG_KEY: PARTNER_TAG_VALUE}


def tags_for_create(extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The Tags list every create carries: PartnerManaged=true, and nothing that could override it."""
    extra = dict(extra or {})
    if extra.pop(PARTNER_TAG_KEY, PARTNER_TAG_VALUE) != PARTNER_TAG_VALUE:
        raise TagGuardRefused(
            code="TagGuardRefused",
            message=f"The {PARTNER_TAG_KEY} tag is ours to set and is always {PARTNER_TAG_VALUE!r}.",
        )
    return [{"Key": PARTNER_TAG_KEY, "Value": PARTNER_TAG_VALUE}] + [
        {"Key": key, "Value": value} for key, value in sorted(extra.items())
    ]


def is_partner_managed(tags: dict[str, str]) -> bool:
    return tags.get(PARTNER_TAG_KEY) == PARTNER_TAG_VALUE


def ensure_partner_managed(resource_id: str, tags: dict[str, str], operation: str) -> None:
    """Refuse to mutate a resource that does not carry PartnerManaged=true."""
    if not is_partner_managed(tags):
        raise TagGuardRefused(
            code="TagGuardRefused",
            message=(
                f"{resource_id} is not tagged {PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it was not made by this "
                "control plane, so it is not ours to change."
            ),
            operation=operation,
        )


def ensure_tag_keys_untouched(tag_keys: list[str], operation: str) -> None:
    """We never create, change or delete the PartnerManaged tag on an existing resource."""
    if PARTNER_TAG_KEY in tag_keys:
        raise TagGuardRefused(
            code="TagGuardRefused",
            message=f"The {PARTNER_TAG_KEY} tag cannot be changed or removed once a resource exists.",
            operation=operation,
        )
