"""Desktop actions without AWS: what is refused before any call, what a job looks like, how a poll judges.

Jobs made here are never sent (on-commit callbacks do not run inside a test transaction), so nothing in
this file can reach AWS; the integration tests count the calls.
"""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from orchestration.actors import Actor
from orchestration.aws.workspaces import DescribedWorkspace, WorkspaceModification
from orchestration.engine.jobs import job_refresh_status
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.selectors import JobProgress, job_progress
from orchestration.services.desktop_actions import (
    ACTION_WAIT_LIMIT,
    ACTIONS,
    DONE,
    FAILED,
    WAIT,
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_action_summary,
    desktop_action_targets,
    poll_verdict,
)
from tenants.models import Desktop
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
TAGS = {"PartnerManaged": "true"}


@pytest.fixture
def world():
    account = AwsAccountFactory()
    directory = DirectoryFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account)

    def desktop(**fields) -> Desktop:
        defaults = {"aws_account": account, "directory": directory, "bundle": bundle, "tags": TAGS}
        return DesktopFactory(**{**defaults, **fields})

    return {"customer": account.customer, "account": account, "bundle": bundle, "desktop": desktop}


def _counts() -> tuple[int, int]:
    return Job.objects.count(), JobItem.objects.count()


def _refused(world, desktops, action, params=None) -> dict[str, list[str]]:
    before = _counts()
    with pytest.raises(DesktopActionInvalid) as excinfo:
        desktop_action_bulk(
            actor=ACTOR, customer=world["customer"], desktops=desktops, action=action, params=params
        )
    assert _counts() == before
    return excinfo.value.errors


def test_auto_stop_is_refused_for_the_whole_request_and_audited(world):
    desktops = [world["desktop"]() for _ in range(3)]
    errors = _refused(world, desktops, "modify", {"running_mode": "AUTO_STOP"})
    assert "AUTO_STOP is not available for WorkSpaces Core" in errors["running_mode"][0]
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.target_id) == (
        "ModifyWorkspaceProperties",
        "REFUSED",
        "3 desktops",
    )


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"compute_type": "HUGE"}, "compute_type", "Unknown compute type 'HUGE'."),
        ({"root_volume_gib": 0}, "root_volume_gib", "at least 1"),
        ({"running_mode": "SOMETIMES"}, "running_mode", "use MANUAL or ALWAYS_ON"),
        ({}, "params", "Say what to change"),
        ({"bundle_id": "wsb-123456789"}, "bundle_id", "modify takes no parameter 'bundle_id'"),
    ],
)
def test_bad_modify_parameters_name_the_field(world, params, field, words):
    errors = _refused(world, [world["desktop"]()], "modify", params)
    assert words in errors[field][0]


def test_an_unknown_action_and_an_empty_selection_are_refused(world):
    errors = _refused(world, [], "explode")
    assert "Unknown action 'explode'" in errors["action"][0]
    assert errors["desktops"] == ["Select at least one desktop."]


def test_desktops_of_another_customer_refuse_the_request(world):
    stranger = DesktopFactory(tags=TAGS)
    errors = _refused(world, [world["desktop"](), stranger], "stop")
    assert errors["desktops"] == ["1 of the selected desktops belong to another customer."]


@pytest.mark.slow
def test_more_than_5000_desktops_are_refused(world):
    first = world["desktop"]()
    Desktop.objects.bulk_create(
        Desktop(
            aws_account=world["account"],
            region="us-east-1",
            directory=first.directory,
            workspace_id=f"ws-{n:010d}",
            user_name="[UNDEFINED]",
            state="AVAILABLE",
            tags=TAGS,
        )
        for n in range(5000)
    )
    errors = _refused(world, Desktop.objects.all(), "reboot")
    assert errors["desktops"] == ["One request acts on at most 5000 desktops, not 5001."]


def test_a_bundle_of_another_customer_is_refused(world):
    errors = _refused(world, [world["desktop"]()], "migrate", {"bundle_id": BundleFactory().bundle_id})
    assert "No bundle" in errors["bundle_id"][0]


def test_eligible_desktops_proceed_and_the_others_are_skipped_at_once_with_their_reason(world):
    running = [world["desktop"]() for _ in range(3)]
    stopped = [world["desktop"](state="STOPPED") for _ in range(2)]
    not_created = world["desktop"](workspace_id=None, state="REQUESTED")
    untagged = world["desktop"](tags={})
    job = desktop_action_bulk(
        actor=ACTOR,
        customer=world["customer"],
        desktops=[*running, *stopped, not_created, untagged],
        action="stop",
    )
    assert (job.kind, job.queue, job.total_items) == ("DESKTOP_STOP", "bulk", 7)
    items = JobItem.objects.filter(job=job)
    assert items.filter(status="PENDING").count() == 3
    assert set(items.filter(status="PENDING").values_list("desktop", flat=True)) == {d.pk for d in running}
    assert items.filter(error_code="NotEligible").count() == 3
    assert set(items.exclude(status="PENDING").values_list("status", flat=True)) == {"SKIPPED"}
    refused = items.get(error_code="TagGuardRefused")
    assert refused.desktop == untagged and refused.status == "SKIPPED"
    assert job.result["eligible"] == 3
    assert (
        job.result["not_eligible"]["It is STOPPED; stop needs AVAILABLE or ERROR or IMPAIRED or UNHEALTHY."]
        == 2
    )
    events = AuditEvent.objects.filter(job=job)
    assert events.count() == 4 and set(events.values_list("outcome", flat=True)) == {"REFUSED"}
    assert events.get(error_code="TagGuardRefused").target_id == untagged.workspace_id
    summary = desktop_action_summary(job=job)
    assert summary.startswith(f"Job {job.pk} will stop 3 desktops. 4 not eligible (")
    assert "1: It is not created in AWS yet." in summary
    # When the three stops are done, nothing went wrong: the job SUCCEEDED, the four counted as skipped.
    items.filter(status="PENDING").update(status="SUCCEEDED", finished_at=timezone.now())
    assert job_refresh_status(job_id=job.pk).status == "SUCCEEDED"
    assert job_progress(job=job) == JobProgress(total=7, succeeded=3, failed=0, in_flight=0, skipped=4)


def test_nothing_eligible_refuses_the_request_but_audits_each_refusal(world):
    untagged = world["desktop"](tags={})
    errors = _refused(world, [untagged], "terminate")
    assert "None of the 1 selected desktops is eligible to terminate." in errors["desktops"][0]
    assert "not tagged PartnerManaged=true" in errors["desktops"][0]
    event = AuditEvent.objects.get()
    assert (event.outcome, event.error_code, event.target_id, event.job_id) == (
        "REFUSED",
        "TagGuardRefused",
        untagged.workspace_id,
        None,
    )


def test_one_desktop_goes_on_the_interactive_queue(world):
    job = desktop_action_bulk(
        actor=ACTOR, customer=world["customer"], desktops=[world["desktop"]()], action="rebuild"
    )
    assert (job.kind, job.queue) == ("DESKTOP_REBUILD", "interactive")


def test_start_and_stop_need_manual_running_mode(world):
    always_on = world["desktop"](state="STOPPED", running_mode="ALWAYS_ON")
    errors = _refused(world, [always_on], "start")
    assert "only MANUAL desktops are started and stopped" in errors["desktops"][0]


def test_modify_refuses_shrinking_volumes_and_no_op_changes_per_desktop(world):
    big = world["desktop"](root_volume_gib=175, user_volume_gib=100)
    same = world["desktop"](compute_type="STANDARD", root_volume_gib=80, user_volume_gib=100)
    grows = world["desktop"](root_volume_gib=80, user_volume_gib=50)
    job = desktop_action_bulk(
        actor=ACTOR,
        customer=world["customer"],
        desktops=[big, same, grows],
        action="modify",
        params={"root_volume_gib": 80, "user_volume_gib": 100},
    )
    assert job.params == {"action": "modify", "root_volume_gib": 80, "user_volume_gib": 100}
    skipped = dict(JobItem.objects.filter(job=job, status="SKIPPED").values_list("desktop", "error_message"))
    assert skipped == {
        big.pk: "Its root volume is 175 GiB; volumes can only grow.",
        same.pk: "It already has these properties.",
    }


def test_migrate_refuses_the_same_bundle_and_a_bundle_of_another_region(world):
    target = BundleFactory(aws_account=world["account"])
    on_target = world["desktop"](bundle=target)
    elsewhere = world["desktop"](region="eu-west-1")
    movable = world["desktop"]()
    job = desktop_action_bulk(
        actor=ACTOR,
        customer=world["customer"],
        desktops=[on_target, elsewhere, movable],
        action="migrate",
        params={"bundle_id": target.bundle_id},
    )
    skipped = dict(JobItem.objects.filter(job=job, status="SKIPPED").values_list("desktop", "error_message"))
    assert skipped[on_target.pk] == f"It already uses bundle {target.bundle_id}."
    assert "not in the desktop's account and region" in skipped[elsewhere.pk]
    assert JobItem.objects.get(job=job, status="PENDING").desktop == movable


def test_unknown_workspace_ids_are_not_ours_until_reconciled(world):
    known = world["desktop"]()
    with pytest.raises(DesktopActionInvalid) as excinfo:
        desktop_action_targets(
            aws_account=world["account"], workspace_ids=[known.workspace_id, "ws-zzzzzzzzz"]
        )
    assert excinfo.value.errors["workspace_ids"] == [
        f"ws-zzzzzzzzz: not managed by this control plane in account {world['account'].account_id}; "
        "run reconcile first."
    ]


def test_directory_selection_with_a_state_filter(world):
    stopped = world["desktop"](state="STOPPED")
    world["desktop"]()
    world["desktop"](state="TERMINATED")
    found = desktop_action_targets(
        aws_account=world["account"], directory_id=stopped.directory.directory_id, state="STOPPED"
    )
    assert found == [stopped]


# ---------------------------------------------------------------------------------------------- command


def test_command_terminate_needs_yes_and_sends_nothing_without_it(world):
    desktop = world["desktop"]()
    with pytest.raises(CommandError, match="add --yes"):
        call_command(
            "desktops_action",
            "terminate",
            account=world["account"].account_id,
            workspace_ids=desktop.workspace_id,
        )
    assert _counts() == (0, 0)


def test_command_refuses_a_workspace_it_does_not_manage(world):
    with pytest.raises(CommandError, match="not managed by this control plane.*run reconcile first"):
        call_command(
            "desktops_action", "stop", account=world["account"].account_id, workspace_ids="ws-abcdefghi"
        )
    assert _counts() == (0, 0)


def test_command_refuses_auto_stop_with_the_field(world):
    desktop = world["desktop"]()
    with pytest.raises(CommandError, match="running_mode: AUTO_STOP is not available"):
        call_command(
            "desktops_action",
            "modify",
            account=world["account"].account_id,
            workspace_ids=desktop.workspace_id,
            running_mode="AUTO_STOP",
        )
    assert _counts() == (0, 0)


def test_command_makes_a_job_for_a_directory(world, capsys, tmp_path):
    desktops = [world["desktop"](state="STOPPED") for _ in range(3)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(d.workspace_id for d in desktops))
    call_command("desktops_action", "start", account=world["account"].account_id, ids_file=ids_file, yes=True)
    job = Job.objects.get()
    assert (job.kind, job.total_items) == ("DESKTOP_START", 3)
    assert f"Job {job.pk} will start 3 desktops." in capsys.readouterr().out


# -------------------------------------------------------------------------------------------- admin


def _post_action(client, action: str, desktops, **extra):
    return client.post(
        reverse("admin:tenants_desktop_changelist"),
        {"action": action, "_selected_action": [d.pk for d in desktops], **extra},
        follow=True,
    )


def test_admin_stop_makes_a_job_and_says_what_was_not_eligible(world, staff_client):
    desktops = [world["desktop"](), world["desktop"](state="STOPPED")]
    response = _post_action(staff_client, "stop_desktops", desktops)
    job = Job.objects.get()
    text = " ".join(str(m) for m in response.context["messages"])
    assert f"Job {job.pk} will stop 1 desktop. 1 not eligible (1: It is STOPPED;" in text


def test_admin_terminate_asks_for_confirmation_first(world, staff_client):
    desktops = [world["desktop"]() for _ in range(2)]
    page = _post_action(staff_client, "terminate_desktops", desktops)
    assert b"cannot be undone" in page.content and Job.objects.count() == 0
    _post_action(staff_client, "terminate_desktops", desktops, post="yes")
    assert Job.objects.get().kind == "DESKTOP_TERMINATE"


@pytest.mark.slow
def test_admin_modify_asks_for_the_properties_then_makes_the_job(world, staff_client):
    desktop = world["desktop"](compute_type="STANDARD")
    page = _post_action(staff_client, "modify_desktops", [desktop])
    assert b"AUTO_STOP is not available" in page.content and Job.objects.count() == 0
    _post_action(staff_client, "modify_desktops", [desktop], post="yes", compute_type="PERFORMANCE")
    assert Job.objects.get().params == {"action": "modify", "compute_type": "PERFORMANCE"}


def test_admin_migrate_offers_the_selection_accounts_bundles(world, staff_client):
    target = BundleFactory(aws_account=world["account"], name="performance")
    BundleFactory(name="not-theirs")
    desktop = world["desktop"]()
    page = _post_action(staff_client, "migrate_desktops", [desktop])
    assert b"performance" in page.content and b"not-theirs" not in page.content
    _post_action(staff_client, "migrate_desktops", [desktop], post="yes", bundle=target.pk)
    assert Job.objects.get().params == {"action": "migrate", "bundle_id": target.bundle_id}


def test_admin_refusal_is_an_error_message_and_no_job(world, staff_client):
    response = _post_action(staff_client, "start_desktops", [world["desktop"]()])
    text = " ".join(str(m) for m in response.context["messages"])
    assert "nothing was sent" in text and "start needs STOPPED" in text
    assert Job.objects.count() == 0


@pytest.mark.slow
def test_admin_makes_one_job_per_customer(world, staff_client):
    mine = world["desktop"]()
    account = AwsAccountFactory(customer=CustomerFactory())
    theirs = DesktopFactory(aws_account=account, tags=TAGS)
    _post_action(staff_client, "reboot_desktops", [mine, theirs])
    assert sorted(Job.objects.values_list("customer", flat=True)) == sorted(
        [world["customer"].pk, account.customer.pk]
    )


def test_the_change_page_links_to_snapshots_read_on_demand(world, staff_client):
    desktop = world["desktop"]()
    page = staff_client.get(reverse("admin:tenants_desktop_change", args=[desktop.pk]))
    assert reverse("admin:tenants_desktop_snapshots", args=[desktop.pk]).encode() in page.content
    not_created = world["desktop"](workspace_id=None, state="REQUESTED")
    page = staff_client.get(reverse("admin:tenants_desktop_snapshots", args=[not_created.pk]))
    assert b"It is not created in AWS yet, so it has no snapshots." in page.content


# ------------------------------------------------------------------------------------------------- poll


def _workspace(state="AVAILABLE", **fields) -> DescribedWorkspace:
    return DescribedWorkspace(
        workspace_id="ws-000000001", directory_id="d-1", user_name="u", state=state, **fields
    )


NOW = timezone.now()


@pytest.mark.parametrize(
    ("action", "params", "workspace", "from_state", "verdict"),
    [
        ("stop", {}, _workspace("STOPPING"), "AVAILABLE", WAIT),
        ("stop", {}, _workspace("STOPPED"), "AVAILABLE", DONE),
        ("stop", {}, _workspace("ERROR"), "ERROR", WAIT),  # AWS has not moved it yet
        ("start", {}, _workspace("ERROR"), "STOPPED", FAILED),
        ("start", {}, None, "STOPPED", FAILED),
        ("terminate", {}, None, "AVAILABLE", DONE),
        ("terminate", {}, _workspace("TERMINATING"), "AVAILABLE", WAIT),
        ("migrate", {}, None, "AVAILABLE", WAIT),  # the new WorkSpace may lag in Describe
        ("maintenance-on", {}, _workspace("ADMIN_MAINTENANCE"), "AVAILABLE", DONE),
        (
            "modify",
            {"compute_type": "POWER"},
            _workspace(
                compute_type="POWER",
                modifications=(WorkspaceModification("COMPUTE_TYPE", "UPDATE_IN_PROGRESS"),),
            ),
            "AVAILABLE",
            WAIT,
        ),
        ("modify", {"compute_type": "POWER"}, _workspace(compute_type="POWER"), "AVAILABLE", DONE),
        ("modify", {"compute_type": "POWER"}, _workspace(compute_type="STANDARD"), "AVAILABLE", WAIT),
        (
            "modify",
            {"user_volume_gib": 100},
            _workspace(modifications=(WorkspaceModification("USER_VOLUME", "UPDATE_FAILED"),)),
            "AVAILABLE",
            FAILED,
        ),
    ],
)
def test_poll_verdicts(action, params, workspace, from_state, verdict):
    got, _, _ = poll_verdict(
        ACTIONS[action],
        params,
        workspace,
        from_state=from_state,
        submitted_at=NOW,
        now=NOW + timedelta(seconds=30),
    )
    assert got == verdict


@pytest.mark.slow
def test_a_desktop_that_never_arrives_is_given_up_on():
    got, code, _ = poll_verdict(
        ACTIONS["stop"],
        {},
        _workspace("STOPPING"),
        from_state="AVAILABLE",
        submitted_at=NOW,
        now=NOW + ACTION_WAIT_LIMIT + timedelta(seconds=1),
    )
    assert (got, code) == (FAILED, "GaveUpWaiting")
