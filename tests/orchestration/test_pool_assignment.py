"""Assignment: a user gets the desktop they hold or a warm one; two requests never get the same desktop
(the database decides, not a lock in Python); with none warm, a stopped one is started or one is made;
a release takes the desktop back for a rebuild."""

import threading
from collections import Counter

import pytest
from django.db import connection

from orchestration.actors import Actor
from orchestration.choices import JobKind
from orchestration.models import AuditEvent, Job
from orchestration.services.pools import PoolInvalid, PoolNotAssigned, pool_assign, pool_release
from tenants.choices import DesktopState
from tenants.models import Desktop, PoolAction, PoolDesktop
from tests.pool_world import add_desktops, make_pool

ACTOR = Actor.system("test")


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_requests_over_twenty_warm_desktops_assign_each_desktop_once():
    pool = make_pool(max_size=20, buffer=0)
    add_desktops(pool, 20)
    barrier = threading.Barrier(50)
    answers: list[tuple[str, str, int | None]] = []
    errors: list[BaseException] = []

    def ask(number: int) -> None:
        barrier.wait()
        try:
            answer = pool_assign(actor=ACTOR, pool=pool, user_name=f"user{number:02d}")
            answers.append(
                (f"user{number:02d}", answer.status, answer.member.desktop_id if answer.member else None)
            )
        except BaseException as exc:  # a failed thread must fail the test, not vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    statuses = Counter(status for _, status, _ in answers)
    assert statuses == {"assigned": 20, "wait": 30}
    given = [desktop for _, status, desktop in answers if status == "assigned"]
    assert len(set(given)) == 20, "a desktop was assigned twice"
    held = dict(PoolDesktop.objects.filter(pool=pool).values_list("desktop_id", "assigned_user"))
    assert sorted(held) == sorted(given)
    assert {user for user, status, _ in answers if status == "assigned"} == set(held.values())
    assert not Job.objects.exists(), "the pool was full: nothing to start or create"


@pytest.mark.django_db(transaction=True)
def test_one_user_asking_ten_times_at_once_holds_one_desktop():
    pool = make_pool(persistent=True)
    add_desktops(pool, 5)
    barrier = threading.Barrier(10)
    got: list[int] = []

    def ask() -> None:
        barrier.wait()
        try:
            answer = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
            assert answer.member is not None
            got.append(answer.member.desktop_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 10 and len(set(got)) == 1
    assert PoolDesktop.objects.filter(pool=pool, assigned_user="ann").count() == 1


@pytest.mark.django_db
def test_a_persistent_pool_gives_the_same_desktop_every_time_and_audits_the_first():
    pool = make_pool(persistent=True)
    add_desktops(pool, 3)
    first = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
    again = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
    assert first.status == again.status == "assigned"
    assert first.member.desktop_id == again.member.desktop_id and again.already_held
    event = AuditEvent.objects.get(action="PoolAssign")
    assert event.details["user"] == "ann" and event.details["reason"] == "a warm desktop"


@pytest.mark.django_db
def test_a_released_desktop_is_not_handed_out_again_before_its_rebuild():
    pool = make_pool()
    add_desktops(pool, 2)
    ann = pool_assign(actor=ACTOR, pool=pool, user_name="ann").member
    pool_release(actor=ACTOR, pool=pool, user_name="ann")
    ann.refresh_from_db()
    assert ann.assigned_user is None and ann.needs_recycle
    bob = pool_assign(actor=ACTOR, pool=pool, user_name="bob").member
    assert bob.desktop_id != ann.desktop_id
    with pytest.raises(PoolNotAssigned):
        pool_release(actor=ACTOR, pool=pool, user_name="ann")
    assert AuditEvent.objects.filter(action="PoolRelease", details__user="ann").count() == 1


@pytest.mark.django_db
def test_with_none_warm_a_stopped_desktop_is_started_for_the_user():
    pool = make_pool()
    (stopped,) = add_desktops(pool, 1, state=DesktopState.STOPPED)
    answer = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
    assert answer.status == "pending" and answer.estimate_seconds > 0
    assert answer.job.kind == JobKind.DESKTOP_START
    assert list(answer.job.items.values_list("desktop_id", flat=True)) == [stopped.desktop_id]
    stopped.refresh_from_db()
    assert stopped.assigned_user == "ann" and stopped.pending_action == PoolAction.START
    # Asking again while it starts: the same desktop and job, not a second start.
    again = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
    assert again.status == "pending" and again.job.pk == answer.job.pk
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_with_nothing_free_below_the_maximum_one_desktop_is_made_for_the_user():
    pool = make_pool(max_size=2)
    add_desktops(pool, 1, assigned_user="bob", assigned_at="2026-11-30T09:00:00Z")
    answer = pool_assign(actor=ACTOR, pool=pool, user_name="ann")
    assert answer.status == "pending" and answer.job.kind == JobKind.DESKTOP_CREATE
    made = PoolDesktop.objects.get(pool=pool, assigned_user="ann")
    assert made.pending_action == PoolAction.CREATE and made.desktop.state == DesktopState.REQUESTED
    # At the maximum now: the next user waits, and nothing more is made.
    assert pool_assign(actor=ACTOR, pool=pool, user_name="cat").status == "wait"
    assert Desktop.objects.filter(pool_membership__pool=pool).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["", "[UNDEFINED]", "a/b", "x" * 80])
def test_a_bad_user_name_is_refused_before_anything_happens(user):
    pool = make_pool()
    add_desktops(pool, 1)
    with pytest.raises(PoolInvalid) as refused:
        pool_assign(actor=ACTOR, pool=pool, user_name=user)
    assert "user" in refused.value.errors
    assert not PoolDesktop.objects.filter(assigned_user__isnull=False).exists()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_desktop_whose_rebuild_finished_is_handed_out_before_the_manager_clears_the_mark():
    from tests.factories import JobFactory

    pool = make_pool()
    rebuild = JobFactory(customer=pool.customer, kind=JobKind.DESKTOP_REBUILD, status="RUNNING")
    (member,) = add_desktops(pool, 1, pending_action=PoolAction.REBUILD, pending_job_id=rebuild.pk)
    assert pool_assign(actor=ACTOR, pool=pool, user_name="ann").status != "assigned"
    Job.objects.filter(pk=rebuild.pk).update(status="SUCCEEDED")
    answer = pool_assign(actor=ACTOR, pool=pool, user_name="bob")
    assert answer.status == "assigned" and answer.member.pk == member.pk
    member.refresh_from_db()
    assert member.pending_action == "" and member.pending_job_id is None
