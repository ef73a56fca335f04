"""Admin for API tokens: issued here (the secret shown once, on its own page), revoked, never read back.

Both go through the audited services in orchestration.services.tokens. The secret never travels in the
messages cookie: the page that shows it is the response to the issuing POST, and is not cached.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from orchestration.actors import Actor
from orchestration.services.tokens import ApiTokenInvalid, api_token_issue, api_token_revoke
from partnerportal.staff.forms.tokens import ApiTokenIssueForm
from tenants.models import ApiToken

from .base import StaffAdmin, add_service_errors, staff_scope_choices


@admin.register(ApiToken)
class ApiTokenAdmin(StaffAdmin):
    list_display = ["name", "customer", "staff_user", "key_id", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["customer"]
    list_select_related = ["customer", "staff_user"]
    search_fields = ["name", "key_id", "customer__name"]
    TOKEN_FIELDS: tuple[str, ...] = (
        "customer",
        "staff_user",
        "name",
        "scopes",
        "key_id",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    fields = TOKEN_FIELDS
    readonly_fields = TOKEN_FIELDS
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        # A token is issued or revoked, never edited: its secret cannot be shown again anyway.
        return obj is None and super().has_change_permission(request)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """Issue a token; the answer to the POST is the one page that shows its secret."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = staff_scope_choices(request, ApiTokenIssueForm(request.POST or None))
        if not request.user.is_superuser:
            # A token acts as its staff member: only a superuser may make one acting as someone else.
            staff_field = form.fields["staff_user"]
            assert isinstance(staff_field, ModelChoiceField) and staff_field.queryset is not None
            staff_field.queryset = staff_field.queryset.filter(pk=request.user.pk)
        if request.method == "POST" and form.is_valid():
            try:
                token, plaintext = api_token_issue(actor=Actor.for_user(request.user), **form.cleaned_data)
            except ApiTokenInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                response = self.render_page(
                    request,
                    "admin/tenants/apitoken/issued.html",
                    "Token issued",
                    token=token,
                    plaintext=plaintext,
                    owner=token.customer or f"staff member {token.staff_user}",
                )
                add_never_cache_headers(response)  # no-store: the secret stays out of every cache
                return response
        return self.render_page(request, "admin/tenants/apitoken/issue.html", "Issue an API token", form=form)

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        actor = Actor.for_user(request.user)
        revoked = sum(
            api_token_revoke(actor=actor, token=token) for token in queryset.select_related("customer")
        )
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
