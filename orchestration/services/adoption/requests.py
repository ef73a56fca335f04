"""Asking to adopt or release WorkSpaces: the whole request is judged before any AWS call.

Every id must name one WorkSpace of that account, listed once, at most MAX_WORKSPACES_PER_JOB of them;
adoption takes untracked WorkSpaces that are not terminated and can become a desktop row here, release
takes desktops we manage. A refused request changes nothing and is audited REFUSED once.
"""

from collections import Counter
from collections.abc import Iterable, Sequence

from orchestration.actors import Actor
from orchestration.aws.adoption import ADOPTION_ROLE_NAME
from orchestration.choices import AuditOutcome
from orchestration.engine.jobs import NewItem
from orchestration.models import Job
from orchestration.services.adoption.runner import AdoptRunner, ReleaseRunner
from orchestration.services.audit import audit_event_for_actor, audit_record_many
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB
from orchestration.services.errors import RequestInvalid
from tenants.choices import UNDEFINED_USER, AuthMode, DesktopState
from tenants.models import DESKTOP_IS_LIVE, AwsAccount, Desktop, Directory, UntrackedWorkspace

MAX_WORKSPACES_PER_JOB = MAX_DESKTOPS_PER_JOB
GONE_STATES = (DesktopState.TERMINATING, DesktopState.TERMINATED)
# Ids named in one message, so a refusal of 5,000 stays readable.
LISTED_IDS = 20


class AdoptionInvalid(RequestInvalid):
    """An adoption or release that cannot be sent as it stands; `errors` says what to fix."""


def _listed(ids: Iterable[str]) -> str:
    ids = list(ids)
    more = f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else ""
    return ", ".join(ids[:LISTED_IDS]) + more


class _Errors(dict[str, list[str]]):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def _checked_ids(
    aws_account: AwsAccount, workspace_ids: Sequence[str], verb: str, errors: _Errors
) -> list[str]:
    """The ids as given, once each; what is wrong with the list as a whole goes into `errors`."""
    if aws_account.auth_mode != AuthMode.ASSUME_ROLE:
        errors.add(
            "aws_account",
            f"Account {aws_account.account_id} connects with access keys: {verb} goes through the customer's "
            f"temporary {ADOPTION_ROLE_NAME}, which only an assume-role connection can use.",
        )
    ids = [str(wid).strip() for wid in workspace_ids if str(wid).strip()]
    if not ids:
        errors.add("workspace_ids", f"Choose at least one WorkSpace to {verb}.")
    repeated = [wid for wid, count in Counter(ids).items() if count > 1]
    if repeated:
        errors.add("workspace_ids", f"Listed more than once: {_listed(repeated)}. List each WorkSpace once.")
    if len(ids) > MAX_WORKSPACES_PER_JOB:
        errors.add(
            "workspace_ids",
            f"One request can {verb} at most {MAX_WORKSPACES_PER_JOB} WorkSpaces, not {len(ids)}; "
            "split it into several.",
        )
    return list(dict.fromkeys(ids))


def _refuse(actor: Actor, aws_account: AwsAccount, action: str, ids: list[str], errors: _Errors) -> None:
    """Audit the refused request once (not per WorkSpace: nothing was sent), then raise it."""
    invalid = AdoptionInvalid(dict(errors))
    audit_record_many(
        [
            audit_event_for_actor(
                actor,
                aws_account.customer,
                action=action,
                outcome=AuditOutcome.REFUSED,
                aws_account_id=aws_account.account_id,
                target_type="desktop",
                target_id=ids[0] if len(ids) == 1 else f"{len(ids)} WorkSpaces",
                error_code="InvalidRequest",
                error_message=str(invalid),
                details={"workspace_ids": ids[:100], "errors": dict(errors)},
            )
        ]
    )
    raise invalid


def _adoption_problems(aws_account: AwsAccount, ids: list[str], errors: _Errors) -> list[UntrackedWorkspace]:
    """The untracked rows to adopt, each checked: ours to take, alive, and able to become a desktop row."""
    found = {
        u.workspace_id: u
        for u in UntrackedWorkspace.objects.filter(aws_account=aws_account, workspace_id__in=ids)
    }
    unknown = [wid for wid in ids if wid not in found]
    if unknown:
        errors.add(
            "workspace_ids",
            f"{_listed(unknown)}: not an untracked WorkSpace of account {aws_account.account_id}. Only WorkSpaces "
            "reconciliation listed as not managed can be adopted; reconcile the account to refresh the list.",
        )
    chosen = [found[wid] for wid in ids if wid in found]
    gone = [u.workspace_id for u in chosen if u.state in GONE_STATES]
    if gone:
        errors.add("workspace_ids", f"{_listed(gone)}: terminated or terminating; there is nothing to adopt.")
    managed = {
        wid
        for wid in Desktop.objects.filter(workspace_id__in=ids, unmanaged_at__isnull=True).values_list(
            "workspace_id", flat=True
        )
        if wid
    }
    if managed:
        errors.add("workspace_ids", f"{_listed(sorted(managed))}: already managed here.")
    directories = set(
        Directory.objects.filter(
            aws_account=aws_account, directory_id__in={u.directory_id for u in chosen}
        ).values_list("directory_id", flat=True)
    )
    no_directory = [u.workspace_id for u in chosen if u.directory_id not in directories]
    if no_directory:
        errors.add(
            "workspace_ids",
            f"{_listed(no_directory)}: their directory is not recorded for this account; reconcile the account "
            "(every registered directory gets a record) and try again.",
        )
    _user_conflicts(chosen, ids, errors)
    return chosen


def _user_conflicts(chosen: list[UntrackedWorkspace], ids: list[str], errors: _Errors) -> None:
    """A user holds one live desktop per directory here: a WorkSpace whose user already has one cannot join."""
    named = [u for u in chosen if u.user_name and u.user_name != UNDEFINED_USER]
    if not named:
        return
    holders = set(
        Desktop.objects.filter(
            DESKTOP_IS_LIVE,
            unmanaged_at__isnull=True,
            directory__directory_id__in={u.directory_id for u in named},
            user_name__in={u.user_name for u in named},
        )
        .exclude(workspace_id__in=ids)
        .values_list("directory__directory_id", "user_name")
    )
    taken = [u.workspace_id for u in named if (u.directory_id, u.user_name) in holders]
    counts = Counter((u.directory_id, u.user_name) for u in named)
    twice = [u.workspace_id for u in named if counts[(u.directory_id, u.user_name)] > 1]
    if taken:
        errors.add(
            "workspace_ids",
            f"{_listed(taken)}: the user already has a desktop here in that directory (one per user and "
            "directory); reconcile the account if that desktop is gone.",
        )
    if twice:
        errors.add(
            "workspace_ids", f"{_listed(twice)}: the same user in the same directory; choose one of them."
        )


def adoption_start(*, actor: Actor, aws_account: AwsAccount, workspace_ids: Sequence[str]) -> Job:
    """Adopt untracked WorkSpaces: one DESKTOP_ADOPT job, an item per WorkSpace.

    Its runner tags each WorkSpace PartnerManaged=true through the customer's temporary adoption role
    (audited per desktop, with AWS's request id), then makes (or revives) its desktop row from
    DescribeWorkspaces and drops its untracked row. Raises AdoptionInvalid, before any AWS call and with
    nothing made, when any id cannot be adopted.
    """
    errors = _Errors()
    ids = _checked_ids(aws_account, workspace_ids, "adopt", errors)
    chosen = _adoption_problems(aws_account, ids, errors) if ids else []
    if errors:
        _refuse(actor, aws_account, "AdoptWorkspaces", ids, errors)
    chosen.sort(key=lambda u: (u.region, u.workspace_id))
    return AdoptRunner.job_create(
        actor=actor,
        customer=aws_account.customer,
        params={"aws_account_id": aws_account.account_id},
        items=[
            NewItem(
                aws_resource_id=u.workspace_id,
                params={"workspace_id": u.workspace_id, "region": u.region, "tags": u.tags},
                group=u.region,
            )
            for u in chosen
        ],
    )


def release_start(*, actor: Actor, aws_account: AwsAccount, workspace_ids: Sequence[str]) -> Job:
    """Release desktops we manage (a customer leaving): one DESKTOP_RELEASE job, an item per desktop.

    Its runner removes the PartnerManaged tag through the customer's temporary adoption role (audited per
    desktop); each desktop row is kept, with its history, marked unmanaged (RELEASED). Raises
    AdoptionInvalid, before any AWS call, when any id is not a live desktop we manage in that account.
    """
    errors = _Errors()
    ids = _checked_ids(aws_account, workspace_ids, "release", errors)
    desktops = {
        d.workspace_id: d for d in Desktop.objects.filter(aws_account=aws_account, workspace_id__in=ids)
    }
    unknown = [wid for wid in ids if wid not in desktops]
    if unknown:
        errors.add(
            "workspace_ids",
            f"{_listed(unknown)}: not a desktop of account {aws_account.account_id} managed here.",
        )
    chosen = [desktops[wid] for wid in ids if wid in desktops]
    unmanaged = [d.workspace_id or "" for d in chosen if d.unmanaged_at is not None]
    if unmanaged:
        errors.add("workspace_ids", f"{_listed(unmanaged)}: no longer managed here (released or forgotten).")
    gone = [d.workspace_id or "" for d in chosen if d.state in GONE_STATES]
    if gone:
        errors.add(
            "workspace_ids", f"{_listed(gone)}: terminated or terminating; there is nothing to release."
        )
    missing = [
        d.workspace_id or "" for d in chosen if d.missing_from_aws_since and d.state not in GONE_STATES
    ]
    if missing:
        errors.add(
            "workspace_ids", f"{_listed(missing)}: AWS no longer reports them; reconcile the account first."
        )
    if errors:
        _refuse(actor, aws_account, "ReleaseWorkspaces", ids, errors)
    chosen.sort(key=lambda d: (d.region, d.workspace_id or ""))
    return ReleaseRunner.job_create(
        actor=actor,
        customer=aws_account.customer,
        params={"aws_account_id": aws_account.account_id},
        items=[
            NewItem(
                desktop=d,
                aws_resource_id=d.workspace_id or "",
                params={"workspace_id": d.workspace_id, "region": d.region},
                group=d.region,
            )
            for d in chosen
        ],
    )
