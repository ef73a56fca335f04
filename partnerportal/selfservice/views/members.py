"""Members (admin): add with a role (a one-time set-password link, shown once), change roles, remove."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_POST

from orchestration.actors import Actor
from orchestration.services.members import MemberInvalid, member_add, member_remove, member_role_change
from partnerportal.form_errors import add_service_errors
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.forms import bootstrap_widgets
from partnerportal.selfservice.views.common import page
from tenants.access import Capability
from tenants.choices import MembershipRole
from tenants.models import CustomerMembership


class MemberForm(forms.Form):
    username = forms.CharField(label="User name", max_length=150)
    email = forms.EmailField(label="Email", required=False)
    role = forms.ChoiceField(label="Role", choices=MembershipRole.choices, initial=MembershipRole.VIEWER)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


def _members(request: PortalRequest):
    return request.principal.scope(CustomerMembership.objects.select_related("user")).order_by(
        "user__username"
    )


def set_password_link(request: PortalRequest, membership: CustomerMembership) -> str:
    """A link that sets the user's password once: the token no longer matches after the password changes."""
    user = membership.user
    path = reverse(
        "selfservice:set_password",
        args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)],
    )
    return request.build_absolute_uri(path)


@portal_view(Capability.ADMINISTER)
def member_index(request: PortalRequest) -> HttpResponse:
    """GET: the members and the form. POST: a new member, whose set-password link is on this response only."""
    form = MemberForm(request.POST or None)
    link, added = "", None
    if request.method == "POST" and form.is_valid():
        try:
            added = member_add(
                actor=Actor.for_user(request.user), customer=request.customer, **form.cleaned_data
            )
        except MemberInvalid as invalid:
            add_service_errors(form, invalid)
        else:
            link, form = set_password_link(request, added), MemberForm()
    response = page(
        request,
        "selfservice/members.html",
        {
            "form": form,
            "members": list(_members(request)),
            "roles": MembershipRole.choices,
            "link": link,
            "added": added,
        },
        status=400 if form.errors else 200,
    )
    if link:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_view(Capability.ADMINISTER)
def member_role(request: PortalRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    try:
        member_role_change(
            actor=Actor.for_user(request.user), membership=membership, role=request.POST.get("role", "")
        )
    except MemberInvalid as invalid:
        for errors in invalid.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display()}.")
    return redirect("selfservice:members")


@require_POST
@portal_view(Capability.ADMINISTER)
def member_delete(request: PortalRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(_members(request), pk=pk)
    try:
        member_remove(actor=Actor.for_user(request.user), membership=membership)
    except MemberInvalid as invalid:
        for errors in invalid.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.get_username()} is removed and can no longer sign in.")
    return redirect("selfservice:members")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The one-time link's page: choose a password, then sign in."""

    template_name = "selfservice/set_password.html"
    success_url = reverse_lazy("selfservice:login")

    def form_valid(self, form):
        messages.success(self.request, "Your password is set. Sign in with it.")
        return super().form_valid(form)
