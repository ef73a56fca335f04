"""Power policy schedules are checked before they can be saved."""

import pytest
from django.core.exceptions import ValidationError

from tenants.models.policies import validate_business_hours


def test_a_well_formed_schedule_and_an_empty_one_pass():
    validate_business_hours({})
    validate_business_hours(
        {
            "timezone": "Europe/Berlin",
            "windows": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
        }
    )


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            {"timezone": "Mars/Olympus", "windows": [{"days": [0], "start": "08:00", "end": "09:00"}]},
            "time zone",
        ),
        ({"timezone": "UTC", "windows": []}, "at least one window"),
        ({"timezone": "UTC", "windows": [{"days": [7], "start": "08:00", "end": "09:00"}]}, r"0 \(Monday\)"),
        ({"timezone": "UTC", "windows": [{"days": [1], "start": "8am", "end": "09:00"}]}, "times like"),
        ({"timezone": "UTC", "windows": [{"days": [1], "start": "18:00", "end": "08:00"}]}, "end after"),
        ({"tz": "UTC"}, "or empty"),
    ],
)
def test_malformed_schedules_are_refused_with_what_to_fix(schedule, message):
    with pytest.raises(ValidationError, match=message):
        validate_business_hours(schedule)
