"""Issue 12 item 6: two-factor sign-in (TOTP with recovery codes), enrolment at first sign-in, required
for staff by setting, and for customer users by their customer."""

import re
from base64 import b32encode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import CustomerFactory, CustomerMembershipFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db
ENROL = "/account/two-factor/enrol/"
VERIFY = "/account/two-factor/verify/"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=0):06d}"


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def no_throttle_waits(settings):
    """django-otp makes a device wait 1, 2, 4... seconds after each wrong code; tests do not sleep."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def required(settings):
    settings.OTP_REQUIRED_FOR_STAFF = True


def test_staff_enrol_at_first_sign_in_then_reach_the_console(required):
    staff = StaffUserFactory(username="ops")
    client = _signed_in(staff)
    first = client.get("/admin/")
    assert first.status_code == 302 and first["Location"] == f"{ENROL}?next=%2Fadmin%2F"

    page = client.get(first["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and "otpauth" not in body  # drawn here, no URL leaks
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert f"secret={b32encode(device.bin_key).decode().rstrip('=')}" in device.config_url
    assert b32encode(device.bin_key).decode().rstrip("=") in body  # for typing into an app by hand

    wrong = client.post(
        ENROL, {"token": "000000" if _code(device) != "000000" else "111111", "next": "/admin/"}
    )
    assert "not the one your app shows" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    done = client.post(ENROL, {"token": _code(device), "next": "/admin/"})
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert client.get("/admin/").status_code == 200


@pytest.mark.slow
def test_a_new_session_verifies_with_a_recovery_code_that_then_stops_working(required):
    staff = StaffUserFactory(username="ops")
    client = _signed_in(staff)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=staff)
    codes = re.findall(
        r"<li><code>(\w+)</code></li>", client.post(ENROL, {"token": _code(device)}).content.decode()
    )

    later = _signed_in(staff)
    redirect = later.get("/admin/")
    assert redirect["Location"].startswith(VERIFY)
    assert later.get(ENROL).status_code == 302  # no new device without the second factor
    assert later.post(VERIFY, {"token": "nonsense", "next": "/admin/"}).status_code == 200
    assert later.get("/admin/").status_code == 302
    ok = later.post(VERIFY, {"token": codes[0], "next": "/admin/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/"
    assert later.get("/admin/").status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()

    again = _signed_in(staff)
    again.post(VERIFY, {"token": codes[0]})
    assert again.get("/admin/").status_code == 302
    # Another code does; and `next` never leads off this site.
    assert again.post(VERIFY, {"token": codes[1], "next": "https://evil.example/"})["Location"] == "/"


def test_staff_without_the_setting_and_customer_users_without_the_rule_are_not_asked():
    assert _signed_in(StaffUserFactory(username="ops")).get("/admin/").status_code == 200
    member = CustomerMembershipFactory(user=UserFactory(), customer=CustomerFactory(require_two_factor=False))
    # The portal page itself, with no detour to the verify page.
    assert _signed_in(member.user).get("/portal/").status_code == 200


def test_a_customer_that_requires_two_factor_sends_its_users_to_enrol_and_refuses_the_api():
    member = CustomerMembershipFactory(user=UserFactory(), customer=CustomerFactory(require_two_factor=True))
    client = _signed_in(member.user)
    page = client.get("/portal/")
    assert page.status_code == 302 and page["Location"].startswith(ENROL)
    api = client.get("/api/v1/session-events")
    assert api.status_code == 403 and b"Two-factor" in api.content


def test_signing_out_needs_no_second_factor(required):
    client = _signed_in(StaffUserFactory(username="ops"))
    assert client.get("/admin/").status_code == 302
    assert client.post("/admin/logout/").status_code == 200
    assert "_auth_user_id" not in client.session
