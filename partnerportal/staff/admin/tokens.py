"""Admin for customers' API tokens: made here, shown once, revoked, never read back."""

from django.contrib import admin, messages
from django.utils import timezone

from tenants.models import ApiToken

from .base import StaffAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(StaffAdmin):
    list_display = ["name", "customer", "key_id", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["customer"]
    list_select_related = ["customer"]
    search_fields = ["name", "key_id", "customer__name"]
    fields = ["customer", "name", "key_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_id", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        # A token is made or revoked, never edited: its secret cannot be shown again anyway.
        return obj is None and super().has_change_permission(request)

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        token, plaintext = ApiToken.issue(customer=obj.customer, name=obj.name, created_by_id=request.user.pk)
        obj.pk, obj.key_id = token.pk, token.key_id
        self.message_user(
            request,
            f"Token for {token.customer}: {plaintext} — copy it now, it is not stored and will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
