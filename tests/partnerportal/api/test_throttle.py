"""Each token has its own throttle bucket: one customer's flood does not slow another."""

import pytest

from partnerportal.api.throttling import ClientRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_a_minute(monkeypatch):
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "5/min"})


@pytest.mark.slow
def test_one_customer_exhausting_its_bucket_does_not_429_another(acme, globex, five_a_minute):
    answers = [acme.clients["read"].get("/api/v1/desktops").status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    throttled = acme.clients["read"].get("/api/v1/desktops")
    assert throttled["Content-Type"].startswith("application/problem+json")
    assert int(throttled["Retry-After"]) > 0
    # Another customer, and another token of the same customer, each have a full bucket.
    assert [globex.clients["read"].get("/api/v1/desktops").status_code for _ in range(5)] == [200] * 5
    assert acme.clients["admin"].get("/api/v1/desktops").status_code == 200


@pytest.mark.slow
def test_staff_session_users_have_buckets_of_their_own(acme, five_a_minute, client, staff_user):
    client.force_login(staff_user)
    for _ in range(6):
        acme.clients["read"].get("/api/v1/jobs")
    assert [client.get("/api/v1/jobs").status_code for _ in range(5)] == [200] * 5
    assert client.get("/api/v1/jobs").status_code == 429
