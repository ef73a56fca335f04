"""Sign-in's third-party admins, registered again: django-axes' lockouts (its "clean up" action needs
delete permission, not just a look) and django-otp's devices (on the console's shared admin; their secrets never shown, see OTP_ADMIN_HIDE_SENSITIVE_DATA)."""

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin as OtpStaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OtpTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .base import StaffAdmin


class AccessAttemptAdmin(StaffAdmin, axes_admin.AccessAttemptAdmin):
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


REREGISTERED = {
    AccessAttempt: AccessAttemptAdmin,
    AccessLog: type("AccessLogAdmin", (StaffAdmin, axes_admin.AccessLogAdmin), {}),
    AccessFailureLog: type("AccessFailureLogAdmin", (StaffAdmin, axes_admin.AccessFailureLogAdmin), {}),
    TOTPDevice: type("TOTPDeviceAdmin", (StaffAdmin, OtpTOTPDeviceAdmin), {}),
    StaticDevice: type("StaticDeviceAdmin", (StaffAdmin, OtpStaticDeviceAdmin), {}),
}
for model, model_admin in REREGISTERED.items():
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
