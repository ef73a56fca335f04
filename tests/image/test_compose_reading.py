"""How the image check reads compose files: compose's interpolation, and pointing services at stand-ins."""

import pytest

from tests.image.compose import EVERY_INTERFACE, ComposeError, interpolate, listen_locally, point_at_stand_ins


@pytest.mark.parametrize(
    ("text", "environment", "value", "missing"),
    [
        ("${A}", {"A": "1"}, "1", []),
        ("${A}", {}, "", []),
        ("${A:-d}", {"A": ""}, "d", []),
        ("${A-d}", {"A": ""}, "", []),
        ("${A-d}", {}, "d", []),
        ("${A:?say so}", {"A": "x"}, "x", []),
        ("${A:?say so}", {"A": ""}, "", ["A"]),
        ("${A?say so}", {"A": ""}, "", []),
        ("${A?say so}", {}, "", ["A"]),
        ("${A:+alt}", {"A": "x"}, "alt", []),
        ("${A:+alt}", {}, "", []),
        ("$$A and $A", {"A": "1"}, "$A and 1", []),
        ("postgres://u:${P:?set P}@db/x", {}, "postgres://u:@db/x", ["P"]),
    ],
)
def test_interpolation_follows_the_compose_specification(text, environment, value, missing):
    result, absent = interpolate(text, environment)
    assert result == value
    assert [item.name for item in absent] == missing


def test_urls_naming_a_compose_service_point_at_its_stand_in():
    stand_ins = {"postgres": "postgres://postgres@127.0.0.1:5432/check_db", "redis": "redis://127.0.0.1:6400"}
    services = {"postgres", "redis", "web"}
    assert (
        point_at_stand_ins("postgres://portal:pw@postgres:5432/portal", stand_ins, services)
        == stand_ins["postgres"]
    )
    assert point_at_stand_ins("redis://redis:6379/0", stand_ins, services) == "redis://127.0.0.1:6400/0"
    assert point_at_stand_ins("https://aws.example.com/x", stand_ins, services) == "https://aws.example.com/x"
    with pytest.raises(ComposeError, match="no stand-in"):
        point_at_stand_ins("http://web:8000/", stand_ins, services)


def test_a_server_listening_on_every_interface_is_moved_to_loopback_and_a_free_port():
    command = ["gunicorn", "app", "--bind", "0.0.0.0:8000"]
    assert listen_locally(command, 8000, 41234) == ["gunicorn", "app", "--bind", "127.0.0.1:41234"]
    flower = ["celery", "flower", "--address=0.0.0.0", "--port=5555"]
    assert listen_locally(flower, 5555, 41235) == ["celery", "flower", "--address=127.0.0.1", "--port=41235"]
    simulator = ["python", "-m", "simulator", "--host", EVERY_INTERFACE, "--port", "5000"]
    assert listen_locally(simulator, 5000, 41236)[-3:] == ["127.0.0.1", "--port", "41236"]


def test_a_server_that_would_be_unreachable_through_its_published_port_is_refused():
    with pytest.raises(ComposeError, match="does not listen on 0.0.0.0"):
        listen_locally(["gunicorn", "app", "--bind", "127.0.0.1:8000"], 8000, 41234)
    with pytest.raises(ComposeError, match="port 8000"):
        listen_locally(["gunicorn", "app", "--bind", "0.0.0.0:8001"], 8000, 41234)
