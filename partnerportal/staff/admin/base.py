"""What the admin modules share: for every admin the customer limit and the staff capabilities
(`StaffAdmin`); for every mirrored AWS resource the changelist shape, its own pages, the intermediate page
of an action, a refresh per account and region and a service's refusal shown on a form; for the rows only
the machinery writes (jobs, audit), a look-only admin."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orchestration.services.errors import AwsError
from partnerportal.form_errors import add_service_errors  # noqa: F401 - the admin modules import it from here
from tenants.access import CAPABILITY_PERMISSIONS, Capability, customer_path, staff_customer_ids
from tenants.models import AwsAccount

F = TypeVar("F", bound=forms.BaseForm)


def staff_limit(request: HttpRequest) -> frozenset[int] | None:
    """The customers the signed-in staff user is limited to (None: all), read once per request."""
    if not hasattr(request, "_staff_customer_ids"):
        request._staff_customer_ids = staff_customer_ids(request.user)  # type: ignore[attr-defined]
    return request._staff_customer_ids  # type: ignore[attr-defined]


def staff_scope(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    """Only the rows of the customers this staff user may see (rows of no customer pass unchanged)."""
    path = customer_path(queryset.model)
    limit = staff_limit(request)
    if path is None or limit is None:
        return queryset
    return queryset.filter(**{f"{path}__in": limit})


def staff_scope_choices(request: HttpRequest, form: F) -> F:
    """Every model choice of a form kept to the staff user's customers; a posted other one is invalid."""
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = staff_scope(request, field.queryset)
    return form


def job_message(job: Model, text: str, *args: object) -> SafeString:
    """A message that starts with a link to its job: "Job 12 is importing …" with "Job 12" linked."""
    url = reverse("admin:orchestration_job_change", args=[job.pk])
    return format_html('<a href="{}">Job {}</a> ' + text, url, job.pk, *args)


class StaffAdmin(admin.ModelAdmin):
    """Every ModelAdmin of the staff console. A staff user limited to some customers (account managers,
    `StaffCustomerLimit`) sees, chooses and acts on only their rows: querysets (so actions, object pages
    and autocompletes), relation choices and relation filters are scoped. Actions name the permission
    they need, Django's own (view, change, delete) or a staff capability below (power, repair,
    provision, configure, administer), which the staff roles grant."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return staff_scope(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = staff_scope(request, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs: Any):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = staff_scope(request, field.queryset)
        return field

    def get_list_filter(self, request: HttpRequest):
        filters = list(super().get_list_filter(request))
        if staff_limit(request) is None:
            return filters
        # A limited user's relation filters offer only what their rows use, not every customer's names.
        return [
            (f, admin.RelatedOnlyFieldListFilter)
            if isinstance(f, str) and get_fields_from_path(self.model, f)[-1].is_relation
            else f
            for f in filters
        ]

    def render_page(self, request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
        """One of this model's own admin pages: the site's context, `opts` and the title, then the page's."""
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        return TemplateResponse(request, template, context)

    def _has_capability(self, request: HttpRequest, capability: Capability) -> bool:
        return request.user.has_perm(CAPABILITY_PERMISSIONS[capability])

    def has_power_permission(self, request: HttpRequest) -> bool:
        return self._has_capability(request, Capability.POWER)

    def has_repair_permission(self, request: HttpRequest) -> bool:
        return self._has_capability(request, Capability.REPAIR)

    def has_provision_permission(self, request: HttpRequest) -> bool:
        return self._has_capability(request, Capability.PROVISION)

    def has_configure_permission(self, request: HttpRequest) -> bool:
        return self._has_capability(request, Capability.CONFIGURE)

    def has_administer_permission(self, request: HttpRequest) -> bool:
        return self._has_capability(request, Capability.ADMINISTER)


class AwsResourceAdmin(StaffAdmin):
    """Shared shape: customer and account columns without a query per row."""

    list_select_related = ["aws_account__customer"]
    list_filter = ["region"]

    def has_add_permission(self, request) -> bool:
        # Mirrored AWS resources are made through audited services, never typed in by hand.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A row mirrors AWS and carries history: it goes through AWS (terminate, delete, deregister)
        # or is forgotten (soft, audited), never deleted by hand.
        return False

    @admin.display(description="Customer", ordering="aws_account__customer__name")
    def customer(self, obj) -> str:
        return obj.aws_account.customer.name

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
        for account in staff_scope(request, AwsAccount.objects.all()).filter(pk__in={pk for pk, _ in places}):
            for region in sorted(r for pk, r in places if pk == account.pk):
                try:
                    report = sync(aws_account=account, region=region)
                except AwsError as error:
                    self.message_user(request, f"{account.account_id} {region}: {error}", messages.ERROR)
                    continue
                self.message_user(
                    request, f"{account.account_id} {region}: {summary(report)}", messages.SUCCESS
                )


class ReadOnlyAdmin(StaffAdmin):
    """Rows written only by the machinery; staff may look, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
