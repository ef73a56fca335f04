"""Existing WorkSpaces (R1, R2): untracked WorkSpaces recorded by reconciliation, adoption and release
through the customer's temporary adoption role, the template of that role, and the steady-state role
kept away from the PartnerManaged tag.

The jobs' deliveries and polls run here in the test process against the simulator, with the tag policy
on (tests/integration/test_adoption.py runs them through a real worker).
"""

import ast
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from cfnlint.api import lint
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.adoption import (
    ADOPTION_ROLE_NAME,
    adoption_role_arn,
    is_adoption_access,
    workspace_tag_partner_managed,
    workspace_untag_partner_managed,
)
from orchestration.aws.calls import aws_call
from orchestration.aws.errors import AwsAccessDenied, TagGuardRefused
from orchestration.aws.types import Workspace
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.accounts import account_access, adoption_access
from orchestration.services.adoption import (
    MAX_WORKSPACES_PER_JOB,
    AdoptionInvalid,
    adoption_stack_quick_create_url,
    adoption_stack_template,
    adoption_start,
    release_start,
    untracked_workspace_list,
    untracked_workspaces_record,
)
from orchestration.services.desktop_rows import (
    REPORTED_FIELDS,
    desktop_apply_reported,
    desktop_reported_changes,
)
from orchestration.services.jobs import job_items_run, job_poll
from orchestration.services.onboarding import account_trust_policy
from orchestration.services.power import _candidates
from orchestration.services.reconcile import reconcile_start
from tenants.access import ROLE_CAPABILITIES, Principal
from tenants.choices import MembershipRole, VerificationStatus
from tenants.models import AwsAccount, Desktop, DesktopStateChange, UntrackedWorkspace
from tests.factories import AwsAccountFactory, DesktopFactory, PowerPolicyFactory
from tests.integration.world import admin_client, onboard_demo_customer

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
PARTNER = "123456789012"
PARTNER_TAG = [{"Key": "PartnerManaged", "Value": "true"}]
ORCHESTRATION = Path(__file__).resolve().parents[2] / "orchestration"


# --- the temporary stack's template ---------------------------------------------------------------------------
@pytest.fixture
def account():
    return AwsAccountFactory(account_id="111111111111")


@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER)
@pytest.mark.slow
def test_the_adoption_template_passes_cfn_lint(account):
    assert [str(match) for match in lint(adoption_stack_template(aws_account=account))] == []


@pytest.mark.slow
def test_cfn_lint_would_catch_a_misspelt_action(account):
    body = adoption_stack_template(aws_account=account).replace(
        "workspaces:CreateTags", "workspaces:CreateTagz"
    )
    assert any("createtagz" in str(match).lower() for match in lint(body))


@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER)
def test_the_adoption_role_trusts_only_the_partner_and_may_only_set_or_remove_the_partner_tag(account):
    template = yaml.safe_load(adoption_stack_template(aws_account=account))
    (name,) = template["Resources"]
    role = template["Resources"][name]["Properties"]
    assert role["RoleName"] == ADOPTION_ROLE_NAME == "PartnerAdoptionRole"
    assert role["AssumeRolePolicyDocument"] == account_trust_policy(aws_account=account)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{PARTNER}:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": account.external_id}}
    (policy,) = role["Policies"]
    statements = {s["Action"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"workspaces:CreateTags", "workspaces:DeleteTags"}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    workspaces_only = {"Fn::Sub": "arn:${AWS::Partition}:workspaces:*:${AWS::AccountId}:workspace/*"}
    assert {str(s["Resource"]) for s in statements.values()} == {str(workspaces_only)}
    assert statements["workspaces:CreateTags"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/PartnerManaged": "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["PartnerManaged"]},
    }
    assert statements["workspaces:DeleteTags"]["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["PartnerManaged"]},
        "Null": {"aws:TagKeys": "false"},
    }
    (assertion,) = template["Rules"]["DeployInTheConnectedAccount"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "111111111111"]}
    assert "Delete this stack" in template["Description"]


@pytest.mark.parametrize(
    ("region", "url"),
    [
        (
            "eu-west-1",
            "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/create",
        ),
        (
            "us-gov-west-1",
            "https://console.amazonaws-us-gov.com/cloudformation/home?region=us-gov-west-1#/stacks/create",
        ),
        ("cn-north-1", "https://console.amazonaws.cn/cloudformation/home?region=cn-north-1#/stacks/create"),
    ],
)
def test_the_console_link_is_the_create_stack_page_of_the_accounts_region(region, url):
    assert adoption_stack_quick_create_url(aws_account=AwsAccountFactory(default_region=region)) == url


def test_the_adoption_template_command(account, capsys):
    call_command("adoption_template", "--account", account.account_id)
    out = capsys.readouterr().out
    assert out.startswith(
        "# Temporary WorkSpaces Core partner adoption/release role for AWS account 111111111111"
    )
    assert yaml.safe_load(out)["Resources"]["PartnerAdoptionRole"]["Type"] == "AWS::IAM::Role"
    call_command("adoption_template", "--account", account.account_id, "--console-url")
    assert capsys.readouterr().out.strip() == adoption_stack_quick_create_url(aws_account=account)
    with pytest.raises(CommandError, match="No AWS account 999999999999"):
        call_command("adoption_template", "--account", "999999999999")


def test_the_adoption_role_arn_is_derived_from_the_account():
    assert (
        adoption_role_arn(account_id="111111111111") == "arn:aws:iam::111111111111:role/PartnerAdoptionRole"
    )
    assert (
        adoption_role_arn(
            account_id="111111111111", partner_role_arn="arn:aws-us-gov:iam::111111111111:role/X"
        )
        == "arn:aws-us-gov:iam::111111111111:role/PartnerAdoptionRole"
    )
    account = AwsAccountFactory(account_id="111111111111")
    access = adoption_access(account, region="eu-west-1", job_id=7)
    assert (access.role_arn, access.external_id, access.region) == (
        "arn:aws:iam::111111111111:role/PartnerAdoptionRole",
        account.external_id,
        "eu-west-1",
    )
    assert "adoption" in access.session_name and "job7" in access.session_name
    assert is_adoption_access(access) and not is_adoption_access(account_access(account))


def test_the_customer_roles_that_may_adopt_and_release():
    def principal(role: str) -> Principal:
        return Principal(label=role, customer_ids=frozenset({1}), capabilities=ROLE_CAPABILITIES[role])

    assert principal(MembershipRole.ADMIN).can_do("adopt") and principal(MembershipRole.ADMIN).can_do(
        "release"
    )
    for role in (MembershipRole.OPERATOR, MembershipRole.VIEWER):
        assert not principal(role).can_do("adopt") and not principal(role).can_do("release")


# --- the customer's account in the simulator: tag policy on --------------------------------------------------------
@pytest.fixture
def acme(simulator):
    """Acme onboarded (its directory and bundle recorded here) with the seed's tag policy switched on."""
    world = onboard_demo_customer(simulator, name="Acme", slug="acme")
    simulator.set_tag_enforcement(world["aws_account"].account_id)
    simulator.clear_calls()
    return world


def customer_workspaces(
    simulator, world, users: list[str], *, tagged: bool = False, mode: str = "MANUAL"
) -> list[str]:
    """WorkSpaces the customer made themselves (untagged unless said), AVAILABLE; ids in `users` order."""
    demo = world["demo"]
    made = admin_client(simulator, demo).create_workspaces(
        Workspaces=[
            {
                "DirectoryId": demo["directory_id"],
                "UserName": user,
                "BundleId": demo["bundle_id"],
                "WorkspaceProperties": {"RunningMode": mode},
                **({"Tags": PARTNER_TAG} if tagged else {}),
            }
            for user in users
        ]
    )
    assert made["FailedRequests"] == []
    simulator.advance(1300)
    by_user = {w["UserName"]: w["WorkspaceId"] for w in made["PendingRequests"]}
    return [by_user[user] for user in users]


def reconcile(world) -> Job:
    job = reconcile_start(actor=ACTOR, aws_account=world["aws_account"])
    job_items_run(job_id=job.pk, item_ids=list(job.items.values_list("pk", flat=True)))
    job.refresh_from_db()
    assert job.status == "SUCCEEDED", job.result
    return job


def run(job: Job) -> Job:
    """One delivery of every pending item, then every poll that is due (adoption reads AWS at once)."""
    job_items_run(
        job_id=job.pk, item_ids=list(job.items.filter(status="PENDING").values_list("pk", flat=True))
    )
    while JobItem.objects.filter(job=job, status="WAITING").exists():
        JobItem.objects.filter(job=job, status="WAITING").update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        job_poll(job_id=job.pk)
    job.refresh_from_db()
    return job


def tags_in_aws(simulator, workspace_id: str) -> dict[str, str]:
    return dict(simulator.workspace(workspace_id)["Tags"])


def adoption_role_keys(simulator) -> set[str]:
    return {
        c["access_key_id"]
        for c in simulator.credentials()
        if c["role_arn"].endswith(f":role/{ADOPTION_ROLE_NAME}")
    }


# --- reconciliation records the untracked ones ------------------------------------------------------------------
@pytest.mark.slow
def test_reconciliation_records_untagged_workspaces_refreshes_them_and_drops_the_gone_and_the_adopted(
    acme, simulator
):
    keep, tag_later, terminate_later = customer_workspaces(simulator, acme, ["uma", "ulf", "una"])
    (tagged,) = customer_workspaces(simulator, acme, ["tom"], tagged=True)
    first = reconcile(acme)

    rows = {u.workspace_id: u for u in UntrackedWorkspace.objects.all()}
    assert set(rows) == {keep, tag_later, terminate_later}
    row = rows[keep]
    assert (row.aws_account, row.region, row.directory_id, row.user_name, row.state) == (
        acme["aws_account"],
        "us-east-1",
        acme["demo"]["directory_id"],
        "uma",
        "AVAILABLE",
    )
    assert (row.bundle_id, row.running_mode, row.tags) == (acme["demo"]["bundle_id"], "MANUAL", {})
    assert row.computer_name and row.first_seen_at == row.last_seen_at
    assert Desktop.objects.filter(workspace_id=tagged).exists()
    assert first.result["summary"]["desktops_untracked"] == 3

    client = admin_client(simulator, acme["demo"])
    client.create_tags(ResourceId=tag_later, Tags=PARTNER_TAG)  # the customer's admin tags it: ours now
    client.create_tags(ResourceId=keep, Tags=[{"Key": "CostCenter", "Value": "42"}])
    client.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": terminate_later}])
    (new,) = customer_workspaces(simulator, acme, ["uwe"])
    reconcile(acme)

    rows = {u.workspace_id: u for u in UntrackedWorkspace.objects.all()}
    assert set(rows) == {keep, new}
    assert rows[keep].tags == {"CostCenter": "42"}
    assert rows[keep].first_seen_at == row.first_seen_at < rows[keep].last_seen_at
    assert Desktop.objects.filter(workspace_id=tag_later).exists()


@pytest.mark.slow
def test_untracked_workspaces_are_listed_only_to_those_who_see_their_customer(acme, simulator):
    (mine,) = customer_workspaces(simulator, acme, ["uma"])
    reconcile(acme)
    other = AwsAccountFactory()
    UntrackedWorkspace.objects.create(
        aws_account=other,
        region="us-east-1",
        workspace_id="ws-0ther00001",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    customer = Principal(
        label="acme-admin", customer_ids=frozenset({acme["customer"].pk}), capabilities=frozenset()
    )
    assert [u.workspace_id for u in untracked_workspace_list(principal=customer)] == [mine]
    staff = Principal(label="ops", customer_ids=None, capabilities=frozenset(), is_staff=True)
    assert untracked_workspace_list(principal=staff).count() == 2
    assert [
        u.workspace_id for u in untracked_workspace_list(principal=staff, customer_id=other.customer_id)
    ] == ["ws-0ther00001"]
    assert list(untracked_workspace_list(principal=customer, customer_id=other.customer_id)) == []


@pytest.mark.slow
def test_reconciliation_records_aws_stopping_a_manual_desktop_and_running_again_clears_it(acme, simulator):
    left_alone, stopped_by_us = customer_workspaces(simulator, acme, ["ann", "ben"], tagged=True)
    reconcile(acme)  # adopts both, AVAILABLE
    simulator.advance(48 * 3600 + 600)  # AWS's 48-hour rule stops both MANUAL desktops

    ours = Desktop.objects.get(workspace_id=stopped_by_us)
    job = Job.objects.create(kind="DESKTOP_STOP", customer=acme["customer"], requested_by_kind="SYSTEM")
    JobItem.objects.create(job=job, sequence=0, desktop=ours, status="SUCCEEDED")
    reconcile(acme)
    alone = Desktop.objects.get(workspace_id=left_alone)
    assert alone.state == "STOPPED" and alone.stopped_by_aws_at is not None
    ours.refresh_from_db()
    assert ours.state == "STOPPED" and ours.stopped_by_aws_at is None

    admin_client(simulator, acme["demo"]).start_workspaces(
        StartWorkspaceRequests=[{"WorkspaceId": left_alone}]
    )
    simulator.advance(600)
    reconcile(acme)
    alone.refresh_from_db()
    assert alone.state == "AVAILABLE" and alone.stopped_by_aws_at is None


# --- adoption and release refused before any AWS call --------------------------------------------------------------
@pytest.fixture
def untracked(acme):
    """Untracked rows as reconciliation leaves them (no AWS needed to refuse a request)."""
    now = timezone.now()

    def make(workspace_id: str, **fields) -> UntrackedWorkspace:
        defaults = {
            "aws_account": acme["aws_account"],
            "region": "us-east-1",
            "directory_id": acme["directory"].directory_id,
            "user_name": workspace_id.replace("ws-", "user-"),
            "state": "AVAILABLE",
            "first_seen_at": now,
            "last_seen_at": now,
        }
        return UntrackedWorkspace.objects.create(workspace_id=workspace_id, **{**defaults, **fields})

    return make


def refused(simulator, start, account: AwsAccount, ids) -> dict[str, list[str]]:
    simulator.clear_calls()
    before = (
        Job.objects.count(),
        JobItem.objects.count(),
        Desktop.objects.count(),
        UntrackedWorkspace.objects.count(),
    )
    with pytest.raises(AdoptionInvalid) as excinfo:
        start(actor=ACTOR, aws_account=account, workspace_ids=ids)
    after = (
        Job.objects.count(),
        JobItem.objects.count(),
        Desktop.objects.count(),
        UntrackedWorkspace.objects.count(),
    )
    assert after == before
    assert simulator.calls() == []
    event = AuditEvent.objects.latest("id")
    assert (event.outcome, event.error_code, event.aws_account_id) == (
        "REFUSED",
        "InvalidRequest",
        account.account_id,
    )
    return excinfo.value.errors


def test_adoption_refuses_ids_that_are_not_untracked_workspaces_of_the_account(acme, untracked, simulator):
    untracked("ws-good00001")
    stranger = AwsAccountFactory()
    UntrackedWorkspace.objects.create(
        aws_account=stranger,
        region="us-east-1",
        workspace_id="ws-other0001",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    errors = refused(
        simulator, adoption_start, acme["aws_account"], ["ws-good00001", "ws-other0001", "ws-nope00001"]
    )
    assert errors == {
        "workspace_ids": [
            "ws-other0001, ws-nope00001: not an untracked WorkSpace of account 111111111111. Only WorkSpaces "
            "reconciliation listed as not managed can be adopted; reconcile the account to refresh the list."
        ]
    }


@pytest.mark.slow
def test_adoption_refuses_an_empty_a_repeated_or_an_oversized_list(acme, untracked, simulator):
    untracked("ws-good00001")
    assert refused(simulator, adoption_start, acme["aws_account"], [" ", ""]) == {
        "workspace_ids": ["Choose at least one WorkSpace to adopt."]
    }
    errors = refused(simulator, adoption_start, acme["aws_account"], ["ws-good00001", "ws-good00001"])
    assert errors["workspace_ids"] == ["Listed more than once: ws-good00001. List each WorkSpace once."]
    too_many = [f"ws-{n:010d}" for n in range(MAX_WORKSPACES_PER_JOB + 1)]
    errors = refused(simulator, adoption_start, acme["aws_account"], too_many)
    assert (
        f"at most {MAX_WORKSPACES_PER_JOB} WorkSpaces, not {MAX_WORKSPACES_PER_JOB + 1}"
        in errors["workspace_ids"][0]
    )


def test_adoption_refuses_terminated_managed_directoryless_and_taken_users(acme, untracked, simulator):
    untracked("ws-gone00001", state="TERMINATED")
    untracked("ws-mine00001")
    DesktopFactory(
        aws_account=acme["aws_account"],
        directory=acme["directory"],
        bundle=acme["bundle"],
        workspace_id="ws-mine00001",
    )
    untracked("ws-nodir0001", directory_id="d-0000000042")
    untracked("ws-taken0001", user_name="alice")
    DesktopFactory(
        aws_account=acme["aws_account"], directory=acme["directory"], bundle=acme["bundle"], user_name="alice"
    )
    untracked("ws-twice0001", user_name="bob")
    untracked("ws-twice0002", user_name="bob")
    ids = ["ws-gone00001", "ws-mine00001", "ws-nodir0001", "ws-taken0001", "ws-twice0001", "ws-twice0002"]
    messages = refused(simulator, adoption_start, acme["aws_account"], ids)["workspace_ids"]
    assert messages == [
        "ws-gone00001: terminated or terminating; there is nothing to adopt.",
        "ws-mine00001: already managed here.",
        "ws-nodir0001: their directory is not recorded for this account; reconcile the account (every "
        "registered directory gets a record) and try again.",
        "ws-taken0001: the user already has a desktop here in that directory (one per user and directory); "
        "reconcile the account if that desktop is gone.",
        "ws-twice0001, ws-twice0002: the same user in the same directory; choose one of them.",
    ]


def test_an_access_key_connection_cannot_adopt_or_release(simulator):
    account = AwsAccountFactory.build(
        auth_mode="ACCESS_KEYS", role_arn="", access_key_id="AKIAEXAMPLEKEY0000"
    )
    account.customer.save()
    account.set_secret_access_key("secret")
    account.save()
    for start, verb in ((adoption_start, "adopt"), (release_start, "release")):
        errors = refused(simulator, start, account, ["ws-abcdefghi"])
        assert errors["aws_account"] == [
            f"Account {account.account_id} connects with access keys: {verb} goes through the customer's "
            "temporary PartnerAdoptionRole, which only an assume-role connection can use."
        ]


def test_release_refuses_what_is_not_a_live_desktop_we_manage(acme, simulator):
    def desktop(workspace_id: str, **fields) -> Desktop:
        return DesktopFactory(
            aws_account=acme["aws_account"],
            directory=acme["directory"],
            bundle=acme["bundle"],
            workspace_id=workspace_id,
            **fields,
        )

    desktop("ws-released1", unmanaged_at=timezone.now(), unmanaged_reason="RELEASED")
    desktop("ws-terminat1", state="TERMINATED")
    desktop("ws-missing01", missing_from_aws_since=timezone.now())
    DesktopFactory(workspace_id="ws-strange01")  # another customer's account
    ids = ["ws-released1", "ws-terminat1", "ws-missing01", "ws-strange01"]
    assert refused(simulator, release_start, acme["aws_account"], ids)["workspace_ids"] == [
        "ws-strange01: not a desktop of account 111111111111 managed here.",
        "ws-released1: no longer managed here (released or forgotten).",
        "ws-terminat1: terminated or terminating; there is nothing to release.",
        "ws-missing01: AWS no longer reports them; reconcile the account first.",
    ]


def test_the_commands_refuse_without_sending_anything(acme, untracked, simulator, capsys):
    simulator.clear_calls()
    with pytest.raises(
        CommandError, match="Nothing was sent:\n  workspace_ids: ws-nope00001: not an untracked"
    ):
        call_command("desktops_adopt", "--account", "111111111111", "--workspace-ids", "ws-nope00001")
    with pytest.raises(CommandError, match="add --yes to confirm"):
        call_command("desktops_release", "--account", "111111111111", "--workspace-ids", "ws-nope00001")
    assert not Job.objects.exists() and simulator.calls() == []
    untracked("ws-good00001")
    untracked("ws-good00002")
    call_command(
        "desktops_adopt",
        "--account",
        "111111111111",
        "--workspace-ids",
        "ws-good00001, ws-good00002",
        "--yes",
    )
    job = Job.objects.get()
    assert (job.kind, job.total_items, job.params) == ("DESKTOP_ADOPT", 2, {"aws_account_id": "111111111111"})
    assert f"Job {job.pk} will adopt 2 WorkSpaces." in capsys.readouterr().out


# --- adoption and release against the simulator -------------------------------------------------------------------
@pytest.mark.slow
def test_without_the_temporary_stack_every_item_fails_with_the_way_out(acme, simulator):
    ids = customer_workspaces(simulator, acme, ["uma", "ulf"])
    reconcile(acme)
    simulator.clear_calls()
    job = run(adoption_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=ids))

    assert job.status == "FAILED"
    for item in job.items.all():
        assert item.error_code == "AccessDenied"
        assert (
            "the adoption stack is not deployed in account 111111111111, or was deleted" in item.error_message
        )
        assert "Deploy the temporary adoption stack" in item.error_message
        assert "manage.py adoption_template --account 111111111111" in item.error_message
    assert job.result["next_step"] == ""
    events = AuditEvent.objects.filter(job_id=job.pk)
    assert sorted((e.action, e.target_id, e.outcome, e.error_code) for e in events) == [
        ("CreateTags", wid, "FAILED", "AccessDenied") for wid in sorted(ids)
    ]
    assert simulator.calls("CreateTags") == []  # the role could not even be assumed
    assert (
        UntrackedWorkspace.objects.count() == 2 and not Desktop.objects.filter(workspace_id__in=ids).exists()
    )
    acme["aws_account"].refresh_from_db()
    assert (
        acme["aws_account"].verification_status != VerificationStatus.FAILED
    )  # the connection itself is fine
    assert all(tags_in_aws(simulator, wid) == {} for wid in ids)


@pytest.mark.slow
def test_adoption_tags_through_the_adoption_role_and_makes_the_desktop_rows(acme, simulator):
    ids = customer_workspaces(simulator, acme, ["uma", "ulf", "una"])
    admin_client(simulator, acme["demo"]).create_tags(
        ResourceId=ids[0], Tags=[{"Key": "CostCenter", "Value": "42"}]
    )
    reconcile(acme)
    simulator.deploy_adoption_stack(acme["aws_account"].account_id)
    simulator.clear_calls()

    job = adoption_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=ids)
    assert (job.kind, job.total_items, job.queue) == ("DESKTOP_ADOPT", 3, "bulk")
    job = run(job)

    assert job.status == "SUCCEEDED"
    assert job.result == {
        "succeeded": 3,
        "failed": 0,
        "next_step": "Delete the temporary adoption stack in account 111111111111 now: nothing needs "
        "PartnerAdoptionRole any more.",
    }
    calls = simulator.calls("CreateTags")
    assert sorted(c["request"]["ResourceId"] for c in calls) == sorted(ids)
    assert all(c["request"]["Tags"] == PARTNER_TAG and c["status"] == 200 for c in calls)
    assert {c["access_key_id"] for c in calls} <= adoption_role_keys(simulator)
    counts = simulator.call_counts()
    assert counts["CreateTags"] == 3 and counts["DescribeWorkspaces"] == 1  # 3 ids in one call
    assert "DeleteTags" not in counts

    request_ids = {c["request"]["ResourceId"]: c["request_id"] for c in calls}
    events = AuditEvent.objects.filter(job_id=job.pk)
    assert sorted((e.action, e.target_id, e.outcome, e.aws_request_id) for e in events) == sorted(
        ("CreateTags", wid, "SUCCEEDED", request_ids[wid]) for wid in ids
    )
    for wid, user in zip(ids, ["uma", "ulf", "una"], strict=True):
        assert tags_in_aws(simulator, wid)["PartnerManaged"] == "true"
        desktop = Desktop.objects.get(workspace_id=wid)
        assert (
            desktop.user_name,
            desktop.state,
            desktop.directory,
            desktop.bundle,
            desktop.running_mode,
        ) == (
            user,
            "AVAILABLE",
            acme["directory"],
            acme["bundle"],
            "MANUAL",
        )
        assert desktop.computer_name and desktop.ip_address and desktop.unmanaged_at is None
        assert JobItem.objects.get(job=job, aws_resource_id=wid).desktop == desktop
    assert Desktop.objects.get(workspace_id=ids[0]).tags == {"CostCenter": "42", "PartnerManaged": "true"}
    assert not UntrackedWorkspace.objects.exists()


@pytest.mark.slow
def test_a_lost_answer_to_create_tags_is_asked_again_without_harm(acme, simulator):
    (wid,) = customer_workspaces(simulator, acme, ["uma"])
    reconcile(acme)
    simulator.deploy_adoption_stack(acme["aws_account"].account_id)
    simulator.schedule_fault("CreateTags", "lose_response")
    simulator.clear_calls()

    job = run(adoption_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=[wid]))

    assert job.status == "SUCCEEDED"
    assert [c["fault"] for c in simulator.calls("CreateTags")] == ["lose_response", None]
    assert tags_in_aws(simulator, wid) == {"PartnerManaged": "true"}
    assert AuditEvent.objects.filter(job_id=job.pk, action="CreateTags", outcome="SUCCEEDED").count() == 1
    assert Desktop.objects.filter(workspace_id=wid).count() == 1


@pytest.mark.slow
def test_release_untags_keeps_the_row_and_a_later_adoption_revives_it(acme, simulator):
    (wid,) = customer_workspaces(simulator, acme, ["uma"])
    reconcile(acme)
    simulator.deploy_adoption_stack(acme["aws_account"].account_id)
    run(adoption_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=[wid]))
    desktop = Desktop.objects.get(workspace_id=wid)
    history = DesktopStateChange.objects.filter(desktop=desktop).count()
    simulator.clear_calls()

    job = release_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=[wid])
    assert (job.kind, job.total_items, job.queue) == ("DESKTOP_RELEASE", 1, "interactive")
    job = run(job)

    assert job.status == "SUCCEEDED"
    assert "Delete the temporary adoption stack in account 111111111111 now" in job.result["next_step"]
    (call,) = simulator.calls("DeleteTags")
    assert call["request"] == {"ResourceId": wid, "TagKeys": ["PartnerManaged"]}
    assert call["access_key_id"] in adoption_role_keys(simulator)
    assert tags_in_aws(simulator, wid) == {}
    (event,) = AuditEvent.objects.filter(job_id=job.pk)
    assert (event.action, event.target_id, event.outcome, event.aws_request_id) == (
        "DeleteTags",
        wid,
        "SUCCEEDED",
        call["request_id"],
    )
    assert job.items.get().aws_request_id == call["request_id"]
    desktop.refresh_from_db()
    assert (desktop.unmanaged_reason, desktop.tags, desktop.state) == ("RELEASED", {}, "AVAILABLE")
    assert desktop.unmanaged_at is not None
    assert DesktopStateChange.objects.filter(desktop=desktop).count() == history

    reconcile(acme)  # not ours any more: listed as untracked, its row left as history
    assert UntrackedWorkspace.objects.get().workspace_id == wid
    released_at = desktop.unmanaged_at
    desktop.refresh_from_db()
    assert desktop.unmanaged_at == released_at

    run(adoption_start(actor=ACTOR, aws_account=acme["aws_account"], workspace_ids=[wid]))
    revived = Desktop.objects.get(workspace_id=wid)
    assert revived.pk == desktop.pk and revived.unmanaged_at is None and revived.unmanaged_reason == ""
    assert revived.tags == {"PartnerManaged": "true"}
    assert not UntrackedWorkspace.objects.exists()


def test_a_released_desktop_is_not_swept_by_the_idle_policy_nor_kept_in_its_users_place(acme):
    released = DesktopFactory(
        aws_account=acme["aws_account"],
        directory=acme["directory"],
        bundle=acme["bundle"],
        user_name="alice",
        unmanaged_at=timezone.now(),
        unmanaged_reason="RELEASED",
    )
    managed = DesktopFactory(aws_account=acme["aws_account"], directory=acme["directory"], user_name="alice")
    PowerPolicyFactory(customer=acme["customer"], is_default=True)
    desktops, _ = _candidates()
    assert managed in desktops and released not in desktops


# --- the steady-state role never touches the partner tag -------------------------------------------------------------
@pytest.mark.slow
def test_the_steady_state_role_is_refused_the_partner_tag_by_the_customers_policy(acme, simulator):
    (untagged,) = customer_workspaces(simulator, acme, ["uma"])
    (managed,) = customer_workspaces(simulator, acme, ["tom"], tagged=True)
    steady = account_access(acme["aws_account"], region="us-east-1")
    with pytest.raises(AwsAccessDenied, match="is protected"):
        aws_call(steady, "workspaces", "create_tags", ResourceId=untagged, Tags=PARTNER_TAG)
    with pytest.raises(AwsAccessDenied):
        aws_call(steady, "workspaces", "delete_tags", ResourceId=managed, TagKeys=["PartnerManaged"])
    assert tags_in_aws(simulator, untagged) == {} and tags_in_aws(simulator, managed) == {
        "PartnerManaged": "true"
    }

    # Our boundary does not even send them with the steady-state role.
    simulator.clear_calls()
    with pytest.raises(TagGuardRefused, match="only through the customer's temporary PartnerAdoptionRole"):
        workspace_tag_partner_managed(steady, untagged)
    with pytest.raises(TagGuardRefused):
        workspace_untag_partner_managed(steady, managed)
    assert simulator.calls() == []


def _tag_call_sites() -> set[str]:
    """Modules of orchestration/ that name the CreateTags or DeleteTags operation (boto3's snake case)."""
    sites = set()
    for path in ORCHESTRATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ("create_tags", "delete_tags"):
                sites.add(str(path.relative_to(ORCHESTRATION.parent)))
    return sites


def test_only_the_adoption_boundary_makes_the_tag_calls():
    assert _tag_call_sites() == {"orchestration/aws/adoption.py"}


def test_the_desktop_row_mapping_keeps_aws_s_stop_while_stopped_and_clears_it_once_running():
    desktop = DesktopFactory(state="STOPPED", stopped_by_aws_at=timezone.now())
    reported = Workspace(
        workspace_id=desktop.workspace_id or "",
        directory_id=desktop.directory.directory_id,
        user_name=desktop.user_name,
        state="STOPPED",
        running_mode="MANUAL",
    )
    now = timezone.now()
    assert "stopped_by_aws_at" not in desktop_reported_changes(desktop, reported, now=now)
    assert "stopped_by_aws_at" not in desktop_reported_changes(
        desktop, replace(reported, state="STOPPING"), now=now
    )
    assert (
        desktop_reported_changes(desktop, replace(reported, state="STARTING"), now=now)["stopped_by_aws_at"]
        is None
    )
    desktop_apply_reported(desktop, replace(reported, state="AVAILABLE"), now=now)
    Desktop.objects.bulk_update([desktop], REPORTED_FIELDS)
    desktop.refresh_from_db()
    assert desktop.stopped_by_aws_at is None and desktop.state == "AVAILABLE"


def test_recording_the_untracked_ones_costs_the_same_statements_for_3_or_600(acme):
    def listing(count: int, prefix: str) -> list[tuple[Workspace, dict[str, str]]]:
        return [
            (
                Workspace(
                    workspace_id=f"ws-{prefix}{n:08d}",
                    directory_id=acme["directory"].directory_id,
                    user_name=f"{prefix}{n}",
                    state="AVAILABLE",
                ),
                {},
            )
            for n in range(count)
        ]

    statements = []
    for count, prefix in ((3, "a"), (600, "b"), (600, "b")):
        with CaptureQueriesContext(connection) as queries:
            recorded = untracked_workspaces_record(
                aws_account=acme["aws_account"],
                region="us-east-1",
                untagged=listing(count, prefix),
                seen_at=timezone.now(),
            )
        assert recorded == count == UntrackedWorkspace.objects.count()
        statements.append(len(queries))
    # The managed-desktop lookup, the upsert (600 rows: one batch of 1000), the delete, and the savepoint pair.
    assert statements == [5, 5, 5]
