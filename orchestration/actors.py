"""Who is acting: carried from the entry point into jobs and audit events."""

from dataclasses import dataclass

from orchestration.choices import ActorKind


@dataclass(frozen=True)
class Actor:
    """The person, token or schedule on whose behalf work is done."""

    kind: str
    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user) -> "Actor":
        kind = ActorKind.STAFF if user.is_staff else ActorKind.CUSTOMER_USER
        return cls(kind=kind, label=user.get_username(), user_id=user.pk)

    @classmethod
    def for_token(cls, token) -> "Actor":
        """An API token; a staff token's events also name the person it acts for."""
        return cls(kind=ActorKind.API_TOKEN, label=f"token:{token.name}", user_id=token.staff_user_id)

    @classmethod
    def system(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def schedule(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.SCHEDULE, label=label)
