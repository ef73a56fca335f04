"""Business hours as a weekly grid: what is ticked is what the policy keeps, and back."""

from partnerportal.selfservice.schedule import grid_from_schedule, schedule_from_grid
from tenants.models.policies import validate_business_hours


def test_weekdays_nine_to_five_become_one_window_and_back():
    cells = {(day, hour) for day in range(5) for hour in range(9, 17)}
    schedule = schedule_from_grid(cells, "Europe/Berlin")
    assert schedule == {
        "timezone": "Europe/Berlin",
        "windows": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
    }
    validate_business_hours(schedule)
    assert grid_from_schedule(schedule) == cells


def test_split_days_and_a_window_to_midnight():
    cells = {(0, 8), (0, 9), (0, 14), (5, 23)}
    schedule = schedule_from_grid(cells, "UTC")
    validate_business_hours(schedule)
    assert {"days": [5], "start": "23:00", "end": "23:59"} in schedule["windows"]
    assert grid_from_schedule(schedule) == cells


def test_an_empty_grid_is_no_schedule():
    assert schedule_from_grid(set(), "UTC") == {}
    assert grid_from_schedule({}) == set()
