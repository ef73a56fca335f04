"""S6 / issue 12 item 5: CSRF on the login form, and brute force stopped by django-axes, counted per
user name and client address together; the client address taken from a proxy header only when a
trusted proxy is configured."""

import pytest
from django.test import Client

from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "right horse battery staple"  # noqa: S105


@pytest.fixture(autouse=True)
def ops():
    return StaffUserFactory(username="ops", password=PASSWORD)


def attempt(client: Client, username: str, password: str, address: str = "10.0.0.1", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_after_five_failures_even_the_right_password_is_refused_from_that_address():
    client = Client()
    for _ in range(4):
        assert attempt(client, "ops", "guess").status_code == 200  # the form again, with its error
    assert attempt(client, "ops", "guess").status_code == 429  # the fifth failure locks
    locked = attempt(client, "ops", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_failures_from_one_address_do_not_lock_the_user_out_from_another():
    for _ in range(6):
        attempt(Client(), "ops", "guess", address="203.0.113.9")
    assert attempt(Client(), "ops", PASSWORD, address="203.0.113.9").status_code == 429
    assert attempt(Client(), "ops", PASSWORD, address="198.51.100.7").status_code == 302


def test_failures_for_one_name_do_not_lock_other_names_from_the_same_address():
    StaffUserFactory(username="other", password="another right password")
    for _ in range(6):
        attempt(Client(), "ops", "guess")
    assert attempt(Client(), "other", "another right password").status_code == 302


def test_the_forwarded_header_is_ignored_unless_a_trusted_proxy_is_configured():
    # Unconfigured: a client cannot dodge the lockout by sending a new X-Forwarded-For each time.
    for n in range(5):
        attempt(Client(), "ops", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert attempt(Client(), "ops", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_configured_proxy_each_client_has_its_own_count(settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0  # TRUSTED_PROXY_COUNT=1: the proxy's own entry, the last
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    proxy = "10.0.0.2"  # every request reaches the app from the proxy
    for _ in range(5):
        # The attacker prepends a forged address; the proxy appends the one it saw.
        attempt(Client(), "ops", "guess", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9")
    forged = attempt(Client(), "ops", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert forged.status_code == 429
    colleague = attempt(Client(), "ops", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert colleague.status_code == 302


@pytest.mark.slow
def test_a_successful_login_clears_the_failures():
    client = Client()
    for _ in range(4):
        attempt(client, "ops", "typo")
    assert attempt(client, "ops", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, "ops", "typo")
    assert attempt(client, "ops", PASSWORD).status_code == 302


def test_the_login_form_needs_its_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = attempt(client, "ops", PASSWORD)
    assert response.status_code == 403
    page = client.get(LOGIN)
    token = page.cookies["csrftoken"].value
    ok = client.post(
        LOGIN, {"username": "ops", "password": PASSWORD, "csrfmiddlewaretoken": token}, REMOTE_ADDR="10.0.0.1"
    )
    assert ok.status_code == 302
