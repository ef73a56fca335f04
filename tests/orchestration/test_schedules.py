"""One run per schedule window: the claim row decides, whoever asks and however often."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from orchestration.models import ScheduleRun
from orchestration.services.schedules import (
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


# The idle sweep's "a sweep of the next window waits for the last one" moved to its accounts:
# tests/orchestration/test_idle_sweep_fanout.py.
