"""API tokens (admin): create (the secret shown once, on the page), list with last use, revoke."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from orchestration.actors import Actor
from orchestration.services.tokens import ApiTokenInvalid, api_token_issue, api_token_revoke
from partnerportal.form_errors import add_service_errors
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import bootstrap_widgets
from partnerportal.selfservice.views.common import page
from tenants.access import Capability
from tenants.choices import TokenScope
from tenants.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="What the token is for, e.g. 'billing export'."
    )
    scopes = forms.MultipleChoiceField(
        label="May",
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.READ],
    )
    expires_at = forms.DateTimeField(
        label="Expires (UTC, optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


def _tokens(request: PortalRequest):
    return request.principal.scope(ApiToken.objects.all()).order_by("-created_at", "-pk")


@portal_view(Capability.ADMINISTER)
def token_index(request: PortalRequest) -> HttpResponse:
    """GET: the tokens and the form. POST: a new token, its secret shown on this response only."""
    form = TokenForm(request.POST or None)
    secret, token = "", None
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api_token_issue(
                actor=Actor.for_user(request.user),
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                customer=request.customer,
                expires_at=form.cleaned_data.get("expires_at"),
            )
        except ApiTokenInvalid as invalid:
            add_service_errors(form, invalid)
        else:
            form = TokenForm()
    response = page(
        request,
        "selfservice/tokens.html",
        {"form": form, "tokens": list(_tokens(request)), "secret": secret, "new_token": token},
        status=400 if form.errors else 200,
    )
    if secret:
        response["Cache-Control"] = "no-store"  # the secret is on this page once, never cached or kept
    return response


@require_POST
@portal_view(Capability.ADMINISTER)
def token_revoke(request: PortalRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(_tokens(request), pk=pk)
    if api_token_revoke(actor=Actor.for_user(request.user), token=token):
        messages.success(request, f"Token {token.name!r} is revoked.")
    return redirect("selfservice:tokens")
