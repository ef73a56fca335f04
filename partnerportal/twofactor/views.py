"""Enrolment (authenticator app, then recovery codes shown once) and verification at sign-in."""

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from .policy import recovery_codes_issue, totp_device_pending, totp_qr_svg


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "numeric"}
        ),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@never_cache
@sensitive_post_parameters("token")
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the QR code, type a code it shows; then the recovery codes, once."""
    if user_has_device(request.user) and not request.user.is_verified():  # type: ignore[union-attr]
        # Adding a device needs the second factor already passed in this session.
        return HttpResponseRedirect(f"{reverse('twofactor:verify')}?{urlencode({'next': _next(request)})}")
    device = totp_device_pending(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = recovery_codes_issue(request.user)
            return render(
                request,
                "twofactor/recovery_codes.html",
                {"codes": codes, "next": _next(request), "title": "Recovery codes"},
            )
        form.add_error("token", "That code is not the one your app shows now; try the next one.")
    context = {
        "form": form,
        "qr_svg": totp_qr_svg(device),
        "secret": device.bin_key.hex(),
        "next": _next(request),
        "title": "Set up two-factor sign-in",
    }
    return render(request, "twofactor/enrol.html", context)


@never_cache
@sensitive_post_parameters("token")
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second factor at sign-in: a code from the authenticator app, or one recovery code."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].strip().replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_next(request))
        form.add_error("token", "That code is not valid.")
    return render(
        request,
        "twofactor/verify.html",
        {"form": form, "next": _next(request), "title": "Two-factor sign-in"},
    )
