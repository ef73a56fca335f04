"""WorkSpaces images: pick and import a customer AMI, image a desktop, copy across regions, share, delete, sync.

Three pieces:
- `requests` checks every request before AWS hears of it (F11) and turns it into a job;
- `runner` runs the import, create and copy jobs (adopting by name after a lost answer) and polls
  them to AVAILABLE or ERROR (`rows` maps AWS's report onto our Image row);
- `changes` shares and deletes at once, tag-guarded and audited; `sync` is reconciliation's image part.
"""

from orchestration.services.images.changes import image_delete, image_permission_list, image_permission_update
from orchestration.services.images.requests import (
    ImageInvalid,
    ami_list,
    ami_problems,
    image_copy,
    image_create_from_desktop,
    image_description_safe,
    image_import,
)
from orchestration.services.images.sync import image_sync

__all__ = [
    "ImageInvalid",
    "ami_list",
    "ami_problems",
    "image_copy",
    "image_create_from_desktop",
    "image_delete",
    "image_description_safe",
    "image_import",
    "image_permission_list",
    "image_permission_update",
    "image_sync",
]
