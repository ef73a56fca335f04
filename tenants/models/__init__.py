"""Domain models, one module per aggregate."""

from .accounts import AwsAccount, generate_external_id
from .activity import API_TOKEN_PREFIX, ApiToken, DesktopActivity, DesktopStateChange
from .customers import Customer, CustomerMembership, StaffCustomerLimit
from .policies import GoldenImagePipeline, PowerPolicy
from .pools import Pool, PoolAction, PoolDesktop, PoolSample
from .resources import DESKTOP_IS_LIVE, Bundle, Desktop, Directory, Image, UntrackedWorkspace

__all__ = [
    "API_TOKEN_PREFIX",
    "ApiToken",
    "DesktopActivity",
    "DesktopStateChange",
    "DESKTOP_IS_LIVE",
    "AwsAccount",
    "Bundle",
    "Customer",
    "CustomerMembership",
    "Desktop",
    "Directory",
    "GoldenImagePipeline",
    "Image",
    "Pool",
    "PoolAction",
    "PoolDesktop",
    "PoolSample",
    "PowerPolicy",
    "StaffCustomerLimit",
    "UntrackedWorkspace",
    "generate_external_id",
]
