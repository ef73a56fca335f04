"""When golden-image pipelines fire: cron windows, one claim per window, never before the pipeline existed."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from orchestration.models import ScheduleRun
from orchestration.services.pipelines import golden_image_pipelines_due, pipeline_image_name
from orchestration.services.schedules import cron_last_fire
from tenants.models import GoldenImagePipeline
from tenants.models.policies import validate_cron
from tests.factories import AwsAccountFactory, DesktopFactory

NOW = datetime(2026, 11, 27, 10, 7, 31, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 2 * * *", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
        ("30 11 * * *", datetime(2026, 11, 26, 11, 30, tzinfo=UTC)),  # later today: yesterday's
        ("* * * * *", datetime(2026, 11, 27, 10, 7, tzinfo=UTC)),
        ("*/15 * * * *", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("0 3 * * 1", datetime(2026, 11, 23, 3, 0, tzinfo=UTC)),  # Mondays (0 is Sunday)
        ("0 0 1 * *", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ("0 0 29 2 *", None),  # no 29 February in the past year
    ],
)
def test_the_last_fire_time_at_or_before_now(expression, expected):
    assert cron_last_fire(expression, NOW) == expected


@pytest.mark.parametrize("expression", ["0 2 * *", "61 * * * *", "0 25 * * *", "every night"])
def test_bad_cron_expressions_are_refused_when_the_pipeline_is_saved(expression):
    with pytest.raises(ValidationError, match="cron"):
        validate_cron(expression)


@pytest.mark.django_db
def test_the_tick_claims_each_due_window_once_and_skips_windows_before_the_pipeline_existed():
    account = AwsAccountFactory()
    desktop = DesktopFactory(aws_account=account)
    common = {
        "customer": account.customer,
        "aws_account": account,
        "region": "us-east-1",
        "golden_desktop": desktop,
        "image_name_prefix": "golden",
    }
    with mock.patch("django.utils.timezone.now", return_value=NOW - timedelta(days=2)):
        old = GoldenImagePipeline.objects.create(name="old", schedule_cron="0 2 * * *", **common)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        fresh = GoldenImagePipeline.objects.create(name="fresh", schedule_cron="0 2 * * *", **common)
    GoldenImagePipeline.objects.create(name="off", schedule_cron="* * * * *", enabled=False, **common)
    # Runs are moved on by the same tick; here only the claims are looked at.
    with mock.patch("orchestration.services.pipelines.pipeline_run_advance"):
        assert golden_image_pipelines_due(now=NOW) == 1
        assert golden_image_pipelines_due(now=NOW) == 0  # a second beat, the same window
        assert golden_image_pipelines_due(now=NOW + timedelta(days=1)) == 2  # tomorrow both are due
    # Compared as sets: schedule names sort as strings, so pks 9 and 10 would swap a sorted list.
    windows = set(ScheduleRun.objects.values_list("schedule", "window_start"))
    assert ScheduleRun.objects.count() == 3
    assert windows == {
        (f"golden-image:{old.pk}", datetime(2026, 11, 27, 2, 0, tzinfo=UTC)),
        (f"golden-image:{old.pk}", datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
        (f"golden-image:{fresh.pk}", datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
    }
    assert pipeline_image_name(old, datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == "golden-20261128-0200"
