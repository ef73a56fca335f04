"""Fixtures shared by the orchestration tests."""

from unittest import mock

import pytest


@pytest.fixture
def sent():
    """Every message the engine publishes, as (task, args, queue, countdown), once the transaction commits."""
    messages: list[tuple] = []

    def record(name, args=None, queue=None, countdown=None, **kwargs):
        messages.append((name, args, queue, countdown))

    with mock.patch("orchestration.engine.publish.current_app.send_task", side_effect=record):
        yield messages
