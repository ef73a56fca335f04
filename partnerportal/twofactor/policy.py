"""Who must sign in with a second factor, and the enrolment it takes: a TOTP device and recovery codes."""

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def two_factor_required(user) -> bool:
    """Whether this signed-in user must pass a second factor: staff when the settings say so, a customer
    user when their customer requires it, and anyone who has enrolled a device of their own accord."""
    if user.is_staff and settings.OTP_REQUIRED_FOR_STAFF:
        return True
    membership = getattr(user, "customer_membership", None)
    if membership is not None and membership.customer.require_two_factor:
        return True
    return user_has_device(user)


def totp_device_pending(user) -> TOTPDevice:
    """The user's unconfirmed authenticator device (made once, so reloading the page keeps its QR code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an SVG QR code, drawn here (no third party sees the secret)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # without the XML declaration, to sit inside the page


def recovery_codes_issue(user) -> list[str]:
    """New recovery codes for the user (each works once); any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes
