"""Existing WorkSpaces: listing those we do not manage, adopting them, and releasing desktops we manage.

Both directions go through the customer's temporary adoption/release stack, a second role that may only
set PartnerManaged=true on WorkSpaces or remove that tag; the steady-state role never touches that tag
(seed rule R2). The package is four pieces:

- `untracked`: the WorkSpaces reconciliation found untagged, recorded and listed per principal;
- `stack`: the temporary stack's template and where the customer deploys it;
- `requests`: adoption and release requests, judged whole before any AWS call, each one job;
- `runner`: the jobs' deliveries (one tag call per WorkSpace, audited) and adoption's desktop rows.
"""

from orchestration.services.adoption.requests import (
    MAX_WORKSPACES_PER_JOB,
    AdoptionInvalid,
    adoption_start,
    release_start,
)
from orchestration.services.adoption.runner import AdoptRunner, ReleaseRunner
from orchestration.services.adoption.stack import (
    ADOPTION_STACK_NAME,
    adoption_stack_quick_create_url,
    adoption_stack_template,
)
from orchestration.services.adoption.untracked import untracked_workspace_list, untracked_workspaces_record

__all__ = [
    "ADOPTION_STACK_NAME",
    "MAX_WORKSPACES_PER_JOB",
    "AdoptRunner",
    "AdoptionInvalid",
    "ReleaseRunner",
    "adoption_start",
    "adoption_stack_quick_create_url",
    "adoption_stack_template",
    "release_start",
    "untracked_workspace_list",
    "untracked_workspaces_record",
]
