"""Local records of the AWS resources we manage: directories, images, bundles and desktops (WorkSpaces)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from tenants.choices import (
    UNDEFINED_USER,
    ComputeType,
    DesktopState,
    DirectoryState,
    ImageState,
    IngestionProcess,
    RunningMode,
    Tenancy,
    UnmanagedReason,
)

from .accounts import AwsAccount, region_validator

directory_id_validator = RegexValidator(r"^d-[0-9a-f]{8,63}$", "A directory id looks like d-1234567890.")
image_id_validator = RegexValidator(
    r"^wsi-[0-9a-z]{9,63}$", "A WorkSpaces image id looks like wsi-123456789."
)
bundle_id_validator = RegexValidator(r"^wsb-[0-9a-z]{8,63}$", "A bundle id looks like wsb-12345678.")
workspace_id_validator = RegexValidator(r"^ws-[0-9a-z]{8,63}$", "A WorkSpace id looks like ws-12345678.")
ami_id_validator = RegexValidator(r"^ami-[0-9a-f]{8,17}$", "An AMI id looks like ami-0123456789abcdef0.")


# A desktop that holds its user's place in the directory: not terminated, and not a create AWS refused.
DESKTOP_IS_LIVE = ~models.Q(state=DesktopState.TERMINATED) & ~models.Q(
    state=DesktopState.ERROR, workspace_id__isnull=True
)


class AwsResource(models.Model):
    """Fields every mirrored AWS resource has: where it lives, its tags, when we last read it from AWS."""

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="+", verbose_name="AWS account"
    )
    region = models.CharField(max_length=30, validators=[region_validator])
    tags = models.JSONField(default=dict, blank=True, help_text="Tags as AWS reports them (key: value).")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    missing_from_aws_since = models.DateTimeField(
        null=True, blank=True, help_text="Set by reconciliation when AWS no longer reports the resource."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.pk is not None and self.aws_account_id is not None:
            stored = (
                type(self)
                ._default_manager.filter(pk=self.pk)
                .values_list("aws_account_id", flat=True)
                .first()
            )
            if stored is not None and stored != self.aws_account_id:
                # A resource lives in one account for good; moving the row would move its history too.
                raise ValidationError({"aws_account": "A resource never moves to another AWS account."})


def same_account_errors(owner: Any, **related: AwsResource | None) -> dict[str, str]:
    """For each named related row that lives in another AWS account than `owner` (a resource or a
    pipeline), the error for that field; the database refuses such rows too (tenants migration 0011)."""
    errors = {}
    for field, other in related.items():
        if (
            other is not None
            and owner.aws_account_id is not None
            and other.aws_account_id != owner.aws_account_id
        ):
            errors[field] = (
                f"{other} is in another AWS account; choose one of account "
                f"{owner.aws_account.account_id}'s own."
            )
    return errors


class Directory(AwsResource):
    """A directory registered (or to be registered) with WorkSpaces: the AD the desktops join."""

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="directories", verbose_name="AWS account"
    )
    directory_id = models.CharField(max_length=65, unique=True, validators=[directory_id_validator])
    name = models.CharField(max_length=255, blank=True)
    alias = models.CharField(max_length=255, blank=True)
    directory_type = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=15, choices=DirectoryState.choices, blank=True)
    tenancy = models.CharField(max_length=10, choices=Tenancy.choices, default=Tenancy.SHARED)
    subnet_ids = models.JSONField(default=list, blank=True)
    registration_code = models.CharField(max_length=20, blank=True)
    custom_security_group_id = models.CharField(max_length=30, blank=True)
    workspace_security_group_id = models.CharField(max_length=30, blank=True)
    maintenance_mode_enabled = models.BooleanField(
        default=True,
        help_text="Whether AWS's monthly maintenance window applies to this directory's WorkSpaces.",
    )

    class Meta:
        verbose_name_plural = "directories"
        ordering = ["aws_account_id", "directory_id"]
        constraints = [models.UniqueConstraint(fields=["id", "aws_account"], name="directory_id_account")]

    def __str__(self) -> str:
        return f"{self.name or self.alias or self.directory_id} ({self.directory_id})"


class Image(AwsResource):
    """A WorkSpaces image: imported from a customer AMI, made from a desktop, or copied from a region."""

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="images", verbose_name="AWS account"
    )
    image_id = models.CharField(max_length=65, unique=True, validators=[image_id_validator])
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=256, blank=True)
    state = models.CharField(max_length=10, choices=ImageState.choices, default=ImageState.PENDING)
    ingestion_process = models.CharField(max_length=30, choices=IngestionProcess.choices, blank=True)
    source_ami_id = models.CharField(max_length=21, blank=True, validators=[ami_id_validator])
    source_image = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    operating_system_type = models.CharField(max_length=20, blank=True)
    required_tenancy = models.CharField(max_length=10, choices=Tenancy.choices, blank=True)
    owner_account_id = models.CharField(max_length=12, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        # What composite foreign keys from bundles and copies point at (tenants migration 0011).
        constraints = [models.UniqueConstraint(fields=["id", "aws_account"], name="image_id_account")]

    def __str__(self) -> str:
        return f"{self.name} ({self.image_id})"

    def clean(self) -> None:
        super().clean()
        # A copy is made within its source's account (CopyWorkspaceImage copies across regions only).
        errors = same_account_errors(self, source_image=self.source_image)
        if errors:
            raise ValidationError(errors)


class Bundle(AwsResource):
    """A WorkSpaces bundle: an image plus compute and storage, the template desktops are created from."""

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="bundles", verbose_name="AWS account"
    )
    bundle_id = models.CharField(max_length=65, unique=True, validators=[bundle_id_validator])
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=255, blank=True)
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.PROTECT, related_name="bundles")
    compute_type = models.CharField(max_length=30, choices=ComputeType.choices)
    root_volume_gib = models.PositiveIntegerField("root volume (GiB)", validators=[MinValueValidator(1)])
    user_volume_gib = models.PositiveIntegerField("user volume (GiB)", validators=[MinValueValidator(1)])
    state = models.CharField(max_length=10, choices=ImageState.choices, default=ImageState.AVAILABLE)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(root_volume_gib__gt=0, user_volume_gib__gt=0),
                name="bundle_volumes_positive",
            ),
            models.UniqueConstraint(fields=["id", "aws_account"], name="bundle_id_account"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.bundle_id})"

    def clean(self) -> None:
        super().clean()
        errors = same_account_errors(self, image=self.image)
        if errors:
            raise ValidationError(errors)


class Desktop(AwsResource):
    """A WorkSpaces Core desktop (a WorkSpace).

    It exists locally as REQUESTED before AWS knows it; once CreateWorkspaces answers, `workspace_id`
    is recorded and `state` follows what AWS reports. A user has at most one live desktop per directory;
    user-decoupled desktops (`[UNDEFINED]`) are exempt.
    """

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, related_name="desktops", verbose_name="AWS account"
    )
    directory = models.ForeignKey(Directory, on_delete=models.PROTECT, related_name="desktops")
    bundle = models.ForeignKey(
        Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="desktops"
    )
    workspace_id = models.CharField(
        max_length=65, unique=True, null=True, blank=True, validators=[workspace_id_validator]
    )
    user_name = models.CharField(max_length=63)
    workspace_name = models.CharField(max_length=64, blank=True)
    computer_name = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    state = models.CharField(max_length=20, choices=DesktopState.choices, default=DesktopState.REQUESTED)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    running_mode = models.CharField(max_length=10, choices=RunningMode.choices, default=RunningMode.MANUAL)
    compute_type = models.CharField(max_length=30, choices=ComputeType.choices, blank=True)
    root_volume_gib = models.PositiveIntegerField("root volume (GiB)", null=True, blank=True)
    user_volume_gib = models.PositiveIntegerField("user volume (GiB)", null=True, blank=True)
    power_policy = models.ForeignKey(
        "tenants.PowerPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="desktops",
        help_text="Overrides the customer's default power policy for this desktop.",
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    stopped_by_aws_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When reconciliation found AWS had stopped this MANUAL desktop itself (after 48 hours "
        "AVAILABLE, or maintenance); cleared when it runs again.",
    )
    unmanaged_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this control plane stopped managing the desktop (forgotten or released). The row "
        "and its state history stay, for billing and audit.",
    )
    unmanaged_reason = models.CharField(max_length=10, choices=UnmanagedReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # What staff roles grant beyond view and change (see tenants.access).
        permissions = [
            ("power_desktop", "Start, stop and reboot desktops"),
            ("repair_desktop", "Rebuild and restore desktops"),
            ("provision_desktop", "Create, modify, migrate, maintain and terminate desktops"),
        ]
        indexes = [
            models.Index(fields=["aws_account", "region", "state"], name="desktop_account_region_state"),
            models.Index(fields=["state"], name="desktop_state"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["directory", "user_name"],
                # A released or forgotten row is history and holds no place.
                condition=~models.Q(user_name=UNDEFINED_USER)
                & DESKTOP_IS_LIVE
                & models.Q(unmanaged_at__isnull=True),
                name="one_live_desktop_per_user_and_directory",
            ),
            models.UniqueConstraint(fields=["id", "aws_account"], name="desktop_id_account"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id or 'requested'} ({self.user_name})"

    def clean(self) -> None:
        super().clean()
        # A WorkSpace joins a directory registered in its own account and starts from a bundle there.
        directory = self.directory if self.directory_id is not None else None
        errors = same_account_errors(self, directory=directory, bundle=self.bundle)
        policy = self.power_policy
        if (
            policy is not None
            and self.aws_account_id is not None
            and policy.customer_id != self.aws_account.customer_id
        ):
            errors["power_policy"] = (
                f"{policy} belongs to another customer; choose one of {self.aws_account.customer}'s."
            )
        if errors:
            raise ValidationError(errors)


class UntrackedWorkspace(models.Model):
    """A WorkSpace in a customer's account that this control plane does not manage, as reconciliation
    last listed it: not tagged PartnerManaged=true. Adoption tags it and turns it into a Desktop; until
    then it is only shown, never acted on. Rows are a cache of AWS: reconciliation removes those AWS no
    longer lists and those that became ours.
    """

    aws_account = models.ForeignKey(
        AwsAccount, on_delete=models.CASCADE, related_name="untracked_workspaces", verbose_name="AWS account"
    )
    region = models.CharField(max_length=30, validators=[region_validator])
    workspace_id = models.CharField(max_length=65, unique=True, validators=[workspace_id_validator])
    directory_id = models.CharField(max_length=65, blank=True)
    user_name = models.CharField(max_length=63, blank=True)
    computer_name = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=20, choices=DesktopState.choices, blank=True)
    bundle_id = models.CharField(max_length=65, blank=True)
    running_mode = models.CharField(max_length=10, choices=RunningMode.choices, blank=True)
    tags = models.JSONField(default=dict, blank=True, help_text="Tags as AWS reports them (key: value).")
    first_seen_at = models.DateTimeField(help_text="When reconciliation first listed it.")
    last_seen_at = models.DateTimeField(help_text="When reconciliation last listed it.")

    class Meta:
        verbose_name = "untracked WorkSpace"
        ordering = ["aws_account_id", "region", "user_name", "workspace_id"]
        indexes = [models.Index(fields=["aws_account", "region"], name="untracked_account_region")]

    def __str__(self) -> str:
        return f"{self.workspace_id} ({self.user_name or 'no user'}, untracked)"
