"""Failpoints: named places where a fault test can make a worker die, as a real crash would.

Off unless ORCHESTRATION_FAILPOINTS names them (comma-separated `name` or `name:count`); each named
point then SIGKILLs its own process the first `count` times it is reached (default once), counted in
files under ORCHESTRATION_FAILPOINT_DIR so the count survives the process it kills.
"""

import os
import signal
from pathlib import Path


def _armed() -> dict[str, int]:
    spec = os.environ.get("ORCHESTRATION_FAILPOINTS", "")
    armed = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = entry.partition(":")
        armed[name] = int(count or 1)
    return armed


def failpoint(name: str) -> None:
    """Die here (SIGKILL, no cleanup, no ack) if a fault test armed this point and has kills left."""
    limit = _armed().get(name)
    if not limit:
        return
    directory = Path(os.environ.get("ORCHESTRATION_FAILPOINT_DIR", "/tmp"))  # noqa: S108 - test-only default
    marker = directory / f"failpoint-{name}"
    with marker.open("a+") as handle:
        handle.seek(0)
        fired = len(handle.read())
        if fired >= limit:
            return
        handle.write("x")
    os.kill(os.getpid(), signal.SIGKILL)
