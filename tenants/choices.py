"""Enumerations: the WorkSpaces service model's values, plus the few states that exist only locally."""

from django.db import models

UNDEFINED_USER = "[UNDEFINED]"


class DesktopState(models.TextChoices):
    """WorkspaceState from the service model, plus REQUESTED: asked for, not yet known to AWS."""

    REQUESTED = "REQUESTED", "Requested (not yet in AWS)"
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    IMPAIRED = "IMPAIRED"
    UNHEALTHY = "UNHEALTHY"
    REBOOTING = "REBOOTING"
    STARTING = "STARTING"
    REBUILDING = "REBUILDING"
    RESTORING = "RESTORING"
    MAINTENANCE = "MAINTENANCE"
    ADMIN_MAINTENANCE = "ADMIN_MAINTENANCE"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    SUSPENDED = "SUSPENDED"
    UPDATING = "UPDATING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class ConnectionState(models.TextChoices):
    """ConnectionState from DescribeWorkspacesConnectionStatus, also set by the gateway's events."""

    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    UNKNOWN = "UNKNOWN"


class ActivitySource(models.TextChoices):
    """Who last reported a desktop's session state: AWS's connection status or the partner's gateway."""

    AWS = "AWS"
    GATEWAY = "GATEWAY"


class RunningMode(models.TextChoices):
    """RunningMode; AUTO_STOP exists in the model but WorkSpaces Core refuses it (seed rule R9)."""

    MANUAL = "MANUAL"
    ALWAYS_ON = "ALWAYS_ON"
    AUTO_STOP = "AUTO_STOP"


class ComputeType(models.TextChoices):
    """Compute from the service model."""

    VALUE = "VALUE"
    STANDARD = "STANDARD"
    PERFORMANCE = "PERFORMANCE"
    POWER = "POWER"
    GRAPHICS = "GRAPHICS"
    POWERPRO = "POWERPRO"
    GENERALPURPOSE_4XLARGE = "GENERALPURPOSE_4XLARGE"
    GENERALPURPOSE_8XLARGE = "GENERALPURPOSE_8XLARGE"
    GRAPHICSPRO = "GRAPHICSPRO"
    GRAPHICS_G4DN = "GRAPHICS_G4DN"
    GRAPHICSPRO_G4DN = "GRAPHICSPRO_G4DN"
    GRAPHICS_G6_XLARGE = "GRAPHICS_G6_XLARGE"
    GRAPHICS_G6_2XLARGE = "GRAPHICS_G6_2XLARGE"
    GRAPHICS_G6_4XLARGE = "GRAPHICS_G6_4XLARGE"
    GRAPHICS_G6_8XLARGE = "GRAPHICS_G6_8XLARGE"
    GRAPHICS_G6_16XLARGE = "GRAPHICS_G6_16XLARGE"
    GRAPHICS_GR6_4XLARGE = "GRAPHICS_GR6_4XLARGE"
    GRAPHICS_GR6_8XLARGE = "GRAPHICS_GR6_8XLARGE"
    GRAPHICS_G6F_LARGE = "GRAPHICS_G6F_LARGE"
    GRAPHICS_G6F_XLARGE = "GRAPHICS_G6F_XLARGE"
    GRAPHICS_G6F_2XLARGE = "GRAPHICS_G6F_2XLARGE"
    GRAPHICS_G6F_4XLARGE = "GRAPHICS_G6F_4XLARGE"
    GRAPHICS_GR6F_4XLARGE = "GRAPHICS_GR6F_4XLARGE"
    GRAPHICS_G7_2XLARGE = "GRAPHICS_G7_2XLARGE"
    GRAPHICS_G7_4XLARGE = "GRAPHICS_G7_4XLARGE"
    GRAPHICS_G7_8XLARGE = "GRAPHICS_G7_8XLARGE"
    GRAPHICS_G7_12XLARGE = "GRAPHICS_G7_12XLARGE"


class ImageState(models.TextChoices):
    """WorkspaceImageState."""

    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    ERROR = "ERROR"


class IngestionProcess(models.TextChoices):
    """WorkspaceImageIngestionProcess; WorkSpaces Core imports use the *_BYOP ones (seed rule R4)."""

    BYOL_REGULAR = "BYOL_REGULAR"
    BYOL_GRAPHICS = "BYOL_GRAPHICS"
    BYOL_GRAPHICSPRO = "BYOL_GRAPHICSPRO"
    BYOL_GRAPHICS_G4DN = "BYOL_GRAPHICS_G4DN"
    BYOL_REGULAR_WSP = "BYOL_REGULAR_WSP"
    BYOL_GRAPHICS_G4DN_WSP = "BYOL_GRAPHICS_G4DN_WSP"
    BYOL_REGULAR_BYOP = "BYOL_REGULAR_BYOP"
    BYOL_GRAPHICS_G4DN_BYOP = "BYOL_GRAPHICS_G4DN_BYOP"


class DirectoryState(models.TextChoices):
    """WorkspaceDirectoryState."""

    REGISTERING = "REGISTERING"
    REGISTERED = "REGISTERED"
    DEREGISTERING = "DEREGISTERING"
    DEREGISTERED = "DEREGISTERED"
    ERROR = "ERROR"


class Tenancy(models.TextChoices):
    """Directory tenancy: BYOL needs DEDICATED, everything else SHARED (seed rule R5)."""

    DEDICATED = "DEDICATED"
    SHARED = "SHARED"


class DedicatedTenancySupport(models.TextChoices):
    """DedicatedTenancySupportResultEnum, as DescribeAccount reports BYOL."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class AccountModificationState(models.TextChoices):
    """DedicatedTenancyModificationStateEnum, the progress of ModifyAccount."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class AuthMode(models.TextChoices):
    """How the partner reaches a customer's account (seed rule R1)."""

    ASSUME_ROLE = "ASSUME_ROLE", "Assume role with External ID (preferred)"
    ACCESS_KEYS = "ACCESS_KEYS", "Access keys (self-managed installs only)"


class VerificationStatus(models.TextChoices):
    """Whether the account connection was last proven to work."""

    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"
    FAILED = "FAILED"


class MembershipRole(models.TextChoices):
    """What a customer user may do on the self-service pages (capabilities in tenants.access)."""

    ADMIN = "ADMIN", "Administrator"
    OPERATOR = "OPERATOR", "Operator (help desk)"
    VIEWER = "VIEWER", "Viewer"


class TokenScope(models.TextChoices):
    """What an API token may do (capabilities in tenants.access)."""

    READ = "read", "Read"
    OPERATE = "operate", "Operate (power and repair desktops)"
    ADMIN = "admin", "Administer"


class UnmanagedReason(models.TextChoices):
    """Why a desktop row is no longer managed (its history is kept)."""

    FORGOTTEN = "FORGOTTEN", "Forgotten (AWS no longer knows it)"
    RELEASED = "RELEASED", "Released to the customer (PartnerManaged tag removed)"
