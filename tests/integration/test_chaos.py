"""Issue 11's "what it must show": a real worker, beat and Redis; CreateWorkspaces calls answered after
the client's read timeout while the job runs, and pool processes killed → no duplicate WorkSpaces, no
FAILED item whose desktop exists, no orphan once the job and the reconciliation after it are done, and
exactly one audit event with its AWS request id per created desktop.
"""

import random
import threading
import time
from collections import Counter

import pytest

from orchestration.actors import Actor
from orchestration.aws.workspaces import workspaces_list
from orchestration.models import AuditEvent, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from orchestration.services.reconcile import reconcile_start
from tenants.models import Desktop
from tests.integration.conftest import wait_for_job
from tests.integration.stack import SHORT_LEASE

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
DESKTOPS = 100
READ_TIMEOUT = 2  # the client gives up reading after this long...
LATE_SECONDS = 4  # ...and AWS carries out a late create and answers this long after it was sent
KILLS = 3


def _all_workspaces(world) -> list:
    access = account_access(world["aws_account"], region=world["directory"].region)
    return list(workspaces_list(access, directory_id=world["directory"].directory_id))


def test_late_answers_and_worker_kills_make_no_duplicate_no_orphan_and_one_audit_event_each(
    stack_factory, customer_account, simulator
):
    world = customer_account
    stack = stack_factory(
        {
            **SHORT_LEASE,
            "AWS_READ_TIMEOUT": str(READ_TIMEOUT),
            # Past this, a create that found nothing by name is sent again: well past the late answer.
            "JOB_CREATE_IN_FLIGHT_SECONDS": str(3 * LATE_SECONDS),
        }
    ).start()
    simulator.set_faults(
        seed=11,
        operations={
            "CreateWorkspaces": {
                "late_answer_rate": 0.8,
                "late_answer_seconds": LATE_SECONDS,
                "latency_ms": 300,  # every create is in flight a while, so kills land inside some
            }
        },
    )
    fields = {key: world[key] for key in ("customer", "aws_account", "directory", "bundle")}
    job = desktop_create_bulk(
        actor=Actor.system("chaos test"), request=DesktopCreateRequest(**fields, count=DESKTOPS)
    )
    kills = 0
    stop = threading.Event()
    chooser = random.Random(4)

    def killer() -> None:
        nonlocal kills
        while not stop.is_set() and kills < KILLS:
            time.sleep(chooser.uniform(1.0, 3.0))
            kills += min(1, stack.worker.kill_children())

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        job = wait_for_job(job, stack, timeout=150)
    finally:
        stop.set()
        thread.join()
    simulator.clear_faults()
    reconcile = wait_for_job(
        reconcile_start(actor=Actor.system("chaos test"), aws_account=world["aws_account"]), stack
    )
    assert reconcile.status == "SUCCEEDED", reconcile.result

    late = sum(1 for c in simulator.calls("CreateWorkspaces") if c.get("late_answer_seconds"))
    lost = AuditEvent.objects.filter(job=job, action="CreateWorkspaces", outcome="UNKNOWN").count()
    assert kills > 0 and lost > 0, "no kill or no lost answer happened: the test proved nothing"

    everything = _all_workspaces(world)
    live = [w for w in everything if w.state not in ("TERMINATING", "TERMINATED")]
    ours = {d.workspace_name: d for d in Desktop.objects.filter(job_items__job=job)}
    per_name = Counter(w.workspace_name for w in live)
    duplicates = sum(n - 1 for n in per_name.values() if n > 1)
    made_again = sum(n - 1 for n in Counter(w.workspace_name for w in everything).values() if n > 1)
    linked = {d.workspace_id for d in Desktop.objects.filter(aws_account=world["aws_account"])}
    orphans = [w.workspace_id for w in live if w.workspace_id not in linked]
    failed_but_made = JobItem.objects.filter(
        job=job, status="FAILED", desktop__workspace_name__in=list(per_name)
    ).count()
    created = Desktop.objects.filter(job_items__job=job, workspace_id__isnull=False)
    events = Counter(
        AuditEvent.objects.filter(action="CreateWorkspaces", outcome="SUCCEEDED")
        .exclude(aws_request_id="")
        .values_list("target_id", flat=True)
    )
    not_once = [d.workspace_id for d in created if events[d.workspace_id] != 1]
    print(
        f"\nFIGURE CHAOS n={DESKTOPS} kills={kills} late_answers={late} lost_answers_audited={lost} "
        f"live={len(live)} duplicates={duplicates} made_twice_ever={made_again} orphans={len(orphans)} "
        f"failed_items_whose_desktop_exists={failed_but_made} desktops_without_exactly_one_event={len(not_once)} "
        f"job={job.status}"
    )
    assert duplicates == 0 and made_again == 0
    assert failed_but_made == 0
    assert orphans == []
    assert set(per_name) == set(ours) and created.count() == DESKTOPS
    assert not_once == []
    assert job.status == "SUCCEEDED", job.error
