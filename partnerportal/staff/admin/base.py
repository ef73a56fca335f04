"""What the admin modules share: for every mirrored AWS resource the changelist shape, its own pages, the
intermediate page of an action, a refresh per account and region and a service's refusal shown on a form;
for the rows only the machinery writes (jobs, audit), a look-only admin."""

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse

from orchestration.services.errors import AwsError, RequestInvalid
from tenants.models import AwsAccount


def add_service_errors(form: forms.BaseForm, invalid: RequestInvalid) -> None:
    """A service's refusal (`errors` per field) on the form: each message on its field, else on the form."""
    for field, problems in invalid.errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


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

    def render_page(self, request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
        """One of this model's own admin pages: the site's context, `opts` and the title, then the page's."""
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        return TemplateResponse(request, template, context)

    def confirm_page(
        self,
        request: HttpRequest,
        rows: Iterable[tuple[Model, str]],
        *,
        action: str,
        title: str,
        submit: str = "",
        explanation: str = "",
        form: forms.Form | None = None,
        confirm_field: str = "confirmed",
    ) -> TemplateResponse:
        """The intermediate page of an action: each selected row with its line, the action's form if any,
        and a button that posts the selection back to the action with `confirm_field` set."""
        return self.render_page(
            request,
            "admin/tenants/action_confirm.html",
            title,
            rows=list(rows),
            action=action,
            submit=submit or title,
            explanation=explanation,
            form=form,
            confirm_field=confirm_field,
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        )

    def sync_each_place(
        self, request: HttpRequest, queryset, sync: Callable[..., dict], summary: Callable[[dict], str]
    ) -> None:
        """Refresh from AWS once per account and region of the selection; one message for each."""
        places = {(obj.aws_account_id, obj.region) for obj in queryset}
        for account in AwsAccount.objects.filter(pk__in={pk for pk, _ in places}):
            for region in sorted(r for pk, r in places if pk == account.pk):
                try:
                    report = sync(aws_account=account, region=region)
                except AwsError as error:
                    self.message_user(request, f"{account.account_id} {region}: {error}", messages.ERROR)
                    continue
                self.message_user(
                    request, f"{account.account_id} {region}: {summary(report)}", messages.SUCCESS
                )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the machinery; staff may look, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
