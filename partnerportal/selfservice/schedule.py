"""A power policy's business hours as a weekly grid of hours, and back: what people tick, what the model keeps.

The model keeps `{"timezone": …, "windows": [{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]}`
(Monday is 0). The grid is 7 days × 24 hours; each day's runs of ticked hours become windows, and days
with the same runs share a window. A window ending at midnight is kept as 23:59 (the model wants end > start).
"""

from datetime import time

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = range(24)


def cell_name(day: int, hour: int) -> str:
    return f"h-{day}-{hour}"


def grid_from_schedule(schedule: dict) -> set[tuple[int, int]]:
    """The (day, hour) cells a schedule covers: an hour is ticked when its start is inside a window."""
    cells: set[tuple[int, int]] = set()
    for window in (schedule or {}).get("windows", []):
        start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
        for day in window["days"]:
            for hour in HOURS:
                if start <= time(hour) < end:
                    cells.add((day, hour))
    return cells


def _runs(hours: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for hour in sorted(hours):
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + 1)
        else:
            runs.append((hour, hour + 1))
    return runs


def schedule_from_grid(cells: set[tuple[int, int]], timezone: str) -> dict:
    """The ticked cells as windows (empty grid: no schedule)."""
    if not cells:
        return {}
    by_runs: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day in range(7):
        runs = tuple(_runs([hour for d, hour in cells if d == day]))
        if runs:
            by_runs.setdefault(runs, []).append(day)
    windows = [
        {"days": days, "start": f"{start:02d}:00", "end": "23:59" if end == 24 else f"{end:02d}:00"}
        for runs, days in by_runs.items()
        for start, end in runs
    ]
    return {"timezone": timezone or "UTC", "windows": windows}
