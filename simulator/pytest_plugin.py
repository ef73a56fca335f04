"""pytest fixtures for the simulator: ``pytest_plugins = ["simulator.pytest_plugin"]``.

- ``simulator_server`` (session): one simulator on a free port in a daemon thread of the test process,
  reachable by worker processes too. Set ``SIMULATOR_ENDPOINT_URL`` to use an already running one.
- ``simulator`` (function): a :class:`SimulatorControl` after a reset (frozen clock, seed 0, no faults),
  with ``AWS_ENDPOINT_URL``, dummy credentials and ``AWS_DEFAULT_REGION=us-east-1`` in the environment.
- ``simulator_endpoint`` (function): the endpoint URL (implies the reset).
- ``demo_world`` / ``demo_world_ready`` (function): the demo world's description (see README).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.control import SimulatorControl
from simulator.server import SimulatorServer
from simulator.state import StartupOptions

# A frozen clock by default: tests move time with simulator.advance(), never with sleep().
TEST_TIME_SCALE = 0.0


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorControl]:
    external = os.environ.get("SIMULATOR_ENDPOINT_URL")
    if external:
        yield SimulatorControl(external)
        return
    server = SimulatorServer("127.0.0.1", 0, StartupOptions(time_scale=TEST_TIME_SCALE, seed=0)).start()
    try:
        yield SimulatorControl(server.endpoint_url)
    finally:
        server.stop()


@pytest.fixture
def simulator(simulator_server: SimulatorControl, monkeypatch: pytest.MonkeyPatch) -> SimulatorControl:
    simulator_server.reset(seed=0, time_scale=TEST_TIME_SCALE)
    monkeypatch.setenv("AWS_ENDPOINT_URL", simulator_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return simulator_server


@pytest.fixture
def simulator_endpoint(simulator: SimulatorControl) -> str:
    return simulator.endpoint_url


@pytest.fixture
def demo_world(simulator: SimulatorControl) -> dict[str, Any]:
    return simulator.create_demo_world()


@pytest.fixture
def demo_world_ready(simulator: SimulatorControl) -> dict[str, Any]:
    return simulator.create_demo_world(ready=True)
