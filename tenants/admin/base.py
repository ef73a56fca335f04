"""What every mirrored AWS resource's admin shares."""

from django.contrib import admin


class AwsResourceAdmin(admin.ModelAdmin):
    """Shared shape: customer and account columns without a query per row."""

    list_select_related = ["aws_account__customer"]
    list_filter = ["region"]

    def has_add_permission(self, request) -> bool:
        # Mirrored AWS resources are made through audited services, never typed in by hand.
        return False

    @admin.display(description="Customer", ordering="aws_account__customer__name")
    def customer(self, obj) -> str:
        return obj.aws_account.customer.name
