"""A simulated clock: wall time sped up by a scale factor, plus manual jumps.

Every simulated state (WorkSpace transitions, image imports, credential expiry) is computed lazily
from this clock when it is read, so no background threads are needed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SimClock:
    """Simulated time = anchor + (wall seconds since anchor) x time_scale + manual advances.

    A time scale of 60 makes one wall second count as a simulated minute; 0 freezes the clock so
    tests move it only with :meth:`advance`.
    """

    def __init__(self, time_scale: float = 1.0, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._time_scale = float(time_scale)
        self._anchor_wall = time.monotonic()
        self._anchor_sim = (start or datetime.now(UTC)).timestamp()

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def now_ts(self) -> float:
        """Simulated now as POSIX seconds."""
        with self._lock:
            return self._anchor_sim + (time.monotonic() - self._anchor_wall) * self._time_scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ts(), UTC)

    def _reanchor(self) -> None:
        wall = time.monotonic()
        self._anchor_sim += (wall - self._anchor_wall) * self._time_scale
        self._anchor_wall = wall

    def set_time_scale(self, time_scale: float) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        with self._lock:
            self._reanchor()
            self._time_scale = float(time_scale)

    def advance(self, seconds: float) -> datetime:
        """Jump the simulated clock forward (never backward: AWS time does not rewind)."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._reanchor()
            self._anchor_sim += seconds
        return self.now()

    def set_now(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("a timezone-aware datetime is required")
        with self._lock:
            self._anchor_wall = time.monotonic()
            self._anchor_sim = when.timestamp()
        return self.now()

    def describe(self) -> dict:
        now = self.now_ts()
        return {
            "now": datetime.fromtimestamp(now, UTC).isoformat(),
            "epoch": now,
            "time_scale": self._time_scale,
        }
