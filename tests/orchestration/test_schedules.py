"""One run per schedule window: the claim row decides, whoever asks and however often."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from orchestration.models import ScheduleRun
from orchestration.services.power import idle_sweep_run
from orchestration.services.schedules import (
    schedule_exclusive,
    schedule_run_claim,
    schedule_run_finish,
    window_start_for,
)


def test_windows_are_aligned_so_every_process_computes_the_same_one():
    assert window_start_for(datetime(2026, 11, 27, 10, 7, 31, tzinfo=UTC), 300) == datetime(
        2026, 11, 27, 10, 5, tzinfo=UTC
    )
    assert window_start_for(datetime(2026, 11, 27, 10, 9, 59, tzinfo=UTC), 300) == datetime(
        2026, 11, 27, 10, 5, tzinfo=UTC
    )
    assert window_start_for(datetime(2026, 11, 27, 10, 10, tzinfo=UTC), 300) == datetime(
        2026, 11, 27, 10, 10, tzinfo=UTC
    )


@pytest.mark.django_db
def test_the_second_claim_of_a_window_gets_nothing_and_the_next_window_is_free():
    window = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)
    run = schedule_run_claim(schedule="idle-sweep", window_start=window)
    assert run is not None and run.status == "RUNNING"
    assert schedule_run_claim(schedule="idle-sweep", window_start=window) is None
    assert schedule_run_claim(schedule="golden-image:1", window_start=window) is not None
    schedule_run_finish(run, result={"stopped": 3})
    run.refresh_from_db()
    assert run.status == "SUCCEEDED" and run.result == {"stopped": 3} and run.finished_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_racing_claims_from_many_threads_produce_one_run():
    window = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def claim():
        barrier.wait()
        try:
            won.append(schedule_run_claim(schedule="idle-sweep", window_start=window) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 7 + [True]
    assert ScheduleRun.objects.filter(schedule="idle-sweep", window_start=window).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_sweep_of_the_next_window_does_nothing_while_the_last_one_still_runs():
    """A slow sweep and the next window's would both read a desktop as AVAILABLE and stop it twice."""
    holding, release = threading.Event(), threading.Event()

    def slow_sweep():
        try:
            with schedule_exclusive("idle-sweep") as alone:
                assert alone
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_sweep)
    thread.start()
    assert holding.wait(10)
    try:
        result = idle_sweep_run()
    finally:
        release.set()
        thread.join()
    assert result["claimed"] and result["skipped"] == "a sweep is running" and "stopped" not in result
    run = ScheduleRun.objects.get(schedule="idle-sweep")
    assert run.status == "SUCCEEDED" and run.result["skipped"]
    # Once the slow one ends, a run goes ahead (and the lock was given back, not kept by the connection).
    with schedule_exclusive("idle-sweep") as alone:
        assert alone
    with schedule_exclusive("idle-sweep") as alone:
        assert alone
