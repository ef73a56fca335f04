"""Admin for customers and who may act for them."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone

from tenants.models import Customer, CustomerMembership
from tenants.selectors import USAGE_GRANULARITIES, month_bounds, usage_available_hours, usage_write_csv

from .base import StaffAdmin


class CustomerMembershipInline(admin.TabularInline):
    model = CustomerMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(StaffAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CustomerMembershipInline]
    change_form_template = "admin/tenants/customer/change_form.html"

    def has_delete_permission(self, request, obj=None) -> bool:
        # A customer is deactivated, never deleted: its usage and audit history stay.
        return False

    def get_urls(self):
        usage = path(
            "<int:customer_id>/usage.csv",
            self.admin_site.admin_view(self.usage_csv_view),
            name="tenants_customer_usage_csv",
        )
        return [usage, *super().get_urls()]

    def usage_csv_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        """Hours each desktop was AVAILABLE, per day or month of `?month=YYYY-MM` (UTC), as CSV."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        customer = get_object_or_404(self.get_queryset(request), pk=customer_id)
        month = request.GET.get("month") or timezone.now().strftime("%Y-%m")
        granularity = request.GET.get("granularity", "day")
        try:
            start, end = month_bounds(month)
        except ValueError:
            return HttpResponseBadRequest("month is YYYY-MM, e.g. 2026-11.")
        if granularity not in USAGE_GRANULARITIES:
            return HttpResponseBadRequest(f"granularity is one of: {', '.join(USAGE_GRANULARITIES)}.")
        rows = usage_available_hours(customer=customer, start=start, end=end, granularity=granularity)
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="usage-{customer.slug}-{month}.csv"'
        usage_write_csv(rows, customer=customer, out=response)
        return response


@admin.register(CustomerMembership)
class CustomerMembershipAdmin(StaffAdmin):
    list_display = ["user", "customer", "role"]
    list_filter = ["role", "customer"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__username", "user__email", "customer__name"]
    autocomplete_fields = ["user", "customer"]
