"""Who may see which customers and do what: one answer for the staff console, the customer pages and the API.

A `Principal` is the acting party of one request: a staff user, a customer user or an API token. It
carries the customers it may see (`None`: every customer) and its capabilities. Faces ask it before they
show or do anything, and scope every read with `Principal.scope`, so another tenant's object is simply
not found (a 404, exactly like one that does not exist).

Capabilities are coarse on purpose: they name what a person is trusted with, not which button they press.
Customer roles and token scopes map to them here; partner staff get them from Django permissions, which
the staff roles (groups) grant, so the admin's own permission checks and this module agree.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TypeVar

from django.db.models import Model, QuerySet

from tenants.choices import MembershipRole, TokenScope
from tenants.models import Customer


class Capability(StrEnum):
    """What a principal is trusted with inside the customers it sees."""

    VIEW = "view"  # desktops, jobs, usage, policies, images, bundles, directories
    AUDIT = "audit"  # the audit log
    POWER = "power"  # start, stop, reboot
    REPAIR = "repair"  # rebuild, restore
    PROVISION = "provision"  # create, modify, migrate, admin maintenance, terminate, adopt
    CONFIGURE = "configure"  # power policies, images, bundles, directories, accounts, pipelines
    ADMINISTER = "administer"  # members, API tokens, webhooks, releasing desktops


ALL_CAPABILITIES = frozenset(Capability)
M = TypeVar("M", bound=Model)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    MembershipRole.VIEWER: frozenset({Capability.VIEW, Capability.AUDIT}),
    MembershipRole.OPERATOR: frozenset(
        {Capability.VIEW, Capability.AUDIT, Capability.POWER, Capability.REPAIR}
    ),
    MembershipRole.ADMIN: ALL_CAPABILITIES,
}

TOKEN_SCOPE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    TokenScope.READ: frozenset({Capability.VIEW, Capability.AUDIT}),
    TokenScope.OPERATE: frozenset({Capability.VIEW, Capability.AUDIT, Capability.POWER, Capability.REPAIR}),
    TokenScope.ADMIN: ALL_CAPABILITIES,
}

# The Django permission that grants each capability to partner staff (staff roles are groups of these).
CAPABILITY_PERMISSIONS: dict[Capability, str] = {
    Capability.VIEW: "tenants.view_desktop",
    Capability.AUDIT: "orchestration.view_auditevent",
    Capability.POWER: "tenants.power_desktop",
    Capability.REPAIR: "tenants.repair_desktop",
    Capability.PROVISION: "tenants.provision_desktop",
    Capability.CONFIGURE: "tenants.change_powerpolicy",
    Capability.ADMINISTER: "tenants.change_apitoken",
}

# The capability each desktop action needs, by the action names the services, admin, pages and API use.
DESKTOP_ACTION_CAPABILITIES: dict[str, Capability] = {
    "start": Capability.POWER,
    "stop": Capability.POWER,
    "reboot": Capability.POWER,
    "rebuild": Capability.REPAIR,
    "restore": Capability.REPAIR,
    "modify": Capability.PROVISION,
    "maintenance-on": Capability.PROVISION,
    "maintenance-off": Capability.PROVISION,
    "migrate": Capability.PROVISION,
    "terminate": Capability.PROVISION,
    "create": Capability.PROVISION,
    "adopt": Capability.PROVISION,  # tag existing WorkSpaces PartnerManaged=true
    "release": Capability.ADMINISTER,  # hand managed desktops back to the customer
}


# The ORM path from a row to its customer's id, by model label: how a staff user limited to some
# customers is kept to them on every console page, form choice and action. A model not listed here is
# not a tenant's row (users, groups, schedules) and is not limited.
CUSTOMER_PATHS: dict[str, str] = {
    "tenants.customer": "pk",
    "tenants.customermembership": "customer_id",
    "tenants.awsaccount": "customer_id",
    "tenants.directory": "aws_account__customer_id",
    "tenants.image": "aws_account__customer_id",
    "tenants.bundle": "aws_account__customer_id",
    "tenants.desktop": "aws_account__customer_id",
    "tenants.untrackedworkspace": "aws_account__customer_id",
    "tenants.powerpolicy": "customer_id",
    "tenants.goldenimagepipeline": "customer_id",
    "tenants.pool": "customer_id",
    "tenants.pooldesktop": "pool__customer_id",
    "tenants.poolsample": "pool__customer_id",
    "tenants.apitoken": "customer_id",
    "orchestration.job": "customer_id",
    "orchestration.jobitem": "job__customer_id",
    "orchestration.auditevent": "customer_id",
    "orchestration.webhookendpoint": "customer_id",
    "orchestration.webhookdelivery": "customer_id",
}


def customer_path(model: type[Model]) -> str | None:
    """The ORM path to the customer id of `model`'s rows, or None when its rows belong to no customer."""
    return CUSTOMER_PATHS.get(model._meta.label_lower)


# Partner staff roles: Django groups (made by a tenants migration, kept whole by post_migrate), each a
# list of "app_label.codename" patterns. Edit them here, not in the console: migrate puts back what a
# role lists.
OPERATIONS_VIEWS = (
    "tenants.view_customer",
    "tenants.view_awsaccount",
    "tenants.view_directory",
    "tenants.view_image",
    "tenants.view_bundle",
    "tenants.view_desktop",
    "tenants.view_powerpolicy",
    "tenants.view_goldenimagepipeline",
    "orchestration.view_job",
    "orchestration.view_jobitem",
)
STAFF_ROLES: dict[str, tuple[str, ...]] = {
    "Administrator": ("*",),
    "Support": (
        *OPERATIONS_VIEWS,
        "tenants.power_desktop",
        "tenants.repair_desktop",
        "tenants.provision_desktop",
        "tenants.change_desktop",
        "tenants.change_image",
        "tenants.change_bundle",
        "tenants.change_directory",
    ),
    "Help desk": (*OPERATIONS_VIEWS, "tenants.power_desktop"),
    "Auditor": ("*.view_*",),  # read-only, the audit log included
}


def staff_roles_sync(group_model, permission_model) -> None:
    """Make each staff role's group and give it every permission its patterns match (never removes one).

    Takes the models so a migration can pass its historical ones."""
    permissions = list(permission_model.objects.values_list("pk", "content_type__app_label", "codename"))
    for role, patterns in STAFF_ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = {
            pk
            for pk, app_label, codename in permissions
            if any(fnmatchcase(f"{app_label}.{codename}", pattern) for pattern in patterns)
        }
        group.permissions.add(*wanted)


@dataclass(frozen=True)
class Principal:
    """The acting party of one request, with what it may see and do."""

    label: str
    customer_ids: frozenset[int] | None  # None: every customer (partner staff without a limit)
    capabilities: frozenset[Capability]
    is_staff: bool = False
    user_id: int | None = None
    token_id: int | None = None

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def can_do(self, desktop_action: str) -> bool:
        """Whether this principal may run a desktop action (unknown actions: no)."""
        needed = DESKTOP_ACTION_CAPABILITIES.get(desktop_action)
        return needed is not None and self.can(needed)

    def sees(self, customer_id: int | None) -> bool:
        return customer_id is not None and (self.customer_ids is None or customer_id in self.customer_ids)

    def customers(self) -> QuerySet[Customer]:
        """The active customers this principal may see."""
        return self.scope(Customer.objects.filter(is_active=True), "pk")

    def scope(self, queryset: QuerySet[M], customer_field: str = "customer_id") -> QuerySet[M]:
        """Keep only rows of customers this principal sees.

        `customer_field` is the ORM path to the row's customer id: "customer_id" (jobs, tokens),
        "aws_account__customer_id" (directories, images, bundles, desktops), "pk" (customers).
        """
        if self.customer_ids is None:
            return queryset
        return queryset.filter(**{f"{customer_field}__in": self.customer_ids})


NOBODY = Principal(label="anonymous", customer_ids=frozenset(), capabilities=frozenset())


def staff_capabilities(user) -> frozenset[Capability]:
    """A staff user's capabilities, from the Django permissions their roles (groups) grant."""
    if not (user.is_active and user.is_staff):
        return frozenset()
    return frozenset(cap for cap, perm in CAPABILITY_PERMISSIONS.items() if user.has_perm(perm))


def staff_customer_ids(user) -> frozenset[int] | None:
    """The customers a staff user is limited to (account managers), or None for every customer."""
    if user.is_superuser:
        return None
    limit = getattr(user, "customer_limit", None)
    if limit is None:
        return None
    return frozenset(limit.customers.values_list("pk", flat=True))


def principal_for_user(user) -> Principal:
    """The principal of a signed-in person: partner staff, a customer user, or nobody."""
    if not (user and user.is_authenticated and user.is_active):
        return NOBODY
    if user.is_staff:
        return Principal(
            label=user.get_username(),
            customer_ids=staff_customer_ids(user),
            capabilities=staff_capabilities(user),
            is_staff=True,
            user_id=user.pk,
        )
    membership = getattr(user, "customer_membership", None)
    if membership is None or not membership.customer.is_active:
        return NOBODY
    return Principal(
        label=user.get_username(),
        customer_ids=frozenset({membership.customer_id}),
        capabilities=ROLE_CAPABILITIES.get(membership.role, frozenset()),
        user_id=user.pk,
    )


def principal_for_token(token) -> Principal:
    """The principal of an API token: its customer's, or its staff user's, capped by its scopes."""
    allowed = capabilities_for_scopes(token.scopes)
    if token.customer_id is not None:
        return Principal(
            label=f"token:{token.name}",
            customer_ids=frozenset({token.customer_id}),
            capabilities=allowed,
            token_id=token.pk,
        )
    staff = principal_for_user(token.staff_user)
    if not staff.is_staff:
        return NOBODY
    return Principal(
        label=f"token:{token.name} ({staff.label})",
        customer_ids=staff.customer_ids,
        capabilities=staff.capabilities & allowed,
        is_staff=True,
        user_id=staff.user_id,
        token_id=token.pk,
    )


def capabilities_for_scopes(scopes: Iterable[str]) -> frozenset[Capability]:
    """The union of what a token's scopes allow."""
    allowed: set[Capability] = set()
    for scope in scopes:
        allowed |= TOKEN_SCOPE_CAPABILITIES.get(scope, frozenset())
    return frozenset(allowed)
