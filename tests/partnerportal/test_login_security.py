"""S6: CSRF on the login form, and brute force stopped after a few failures."""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.LOGIN_FAILURES_ALLOWED = 3
    cache.clear()
    yield
    cache.clear()


def attempt(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_after_three_failures_even_the_right_password_is_refused_for_a_while():
    StaffUserFactory(username="ops", password="right horse battery staple")
    client = Client()
    for _ in range(3):
        assert attempt(client, "ops", "guess").status_code == 200  # the form again, with its error
    locked = attempt(client, "ops", "right horse battery staple")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


def test_the_lockout_covers_other_names_from_the_same_address_and_the_name_from_other_addresses():
    StaffUserFactory(username="ops", password="right horse battery staple")
    StaffUserFactory(username="other", password="another right password")
    client = Client()
    for n in range(3):
        attempt(client, f"spray{n}", "guess", address="10.0.0.9")
    assert attempt(client, "other", "another right password", address="10.0.0.9").status_code == 429
    for n in range(3):
        attempt(client, "ops", "guess", address=f"10.0.1.{n}")
    assert attempt(client, "ops", "right horse battery staple", address="10.0.2.1").status_code == 429
    # Someone else, from elsewhere, is not affected.
    assert attempt(Client(), "other", "another right password", address="10.0.3.1").status_code == 302


def test_a_successful_login_clears_the_failures():
    StaffUserFactory(username="ops", password="right horse battery staple")
    client = Client()
    for _ in range(2):
        attempt(client, "ops", "typo")
    assert attempt(client, "ops", "right horse battery staple").status_code == 302
    client.logout()
    for _ in range(2):
        attempt(client, "ops", "typo")
    assert attempt(client, "ops", "right horse battery staple").status_code == 302


def test_the_login_form_needs_its_csrf_token():
    StaffUserFactory(username="ops", password="right horse battery staple")
    client = Client(enforce_csrf_checks=True)
    response = attempt(client, "ops", "right horse battery staple")
    assert response.status_code == 403
    page = client.get(LOGIN)
    token = page.cookies["csrftoken"].value
    ok = client.post(
        LOGIN,
        {"username": "ops", "password": "right horse battery staple", "csrfmiddlewaretoken": token},
        REMOTE_ADDR="10.0.0.1",
    )
    assert ok.status_code == 302
