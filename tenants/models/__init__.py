"""Domain models, one module per aggregate."""

from .accounts import AwsAccount, generate_external_id
from .customers import Customer, CustomerMembership
from .policies import GoldenImagePipeline, PowerPolicy
from .resources import Bundle, Desktop, Directory, Image

__all__ = [
    "AwsAccount",
    "Bundle",
    "Customer",
    "CustomerMembership",
    "Desktop",
    "Directory",
    "GoldenImagePipeline",
    "Image",
    "PowerPolicy",
    "generate_external_id",
]
