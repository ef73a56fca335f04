"""Fixtures shared by every test package."""

import pytest

from tests.factories import StaffUserFactory

# The simulator's fixtures (simulator, simulator_server, demo_world) for every test package.
pytest_plugins = ["simulator.pytest_plugin"]


@pytest.fixture
def staff_user(db):
    return StaffUserFactory(username="staff")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
