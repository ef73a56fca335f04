"""Admin for desktops (WorkSpaces), with the bulk-create form."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from tenants.models import Desktop

from .base import AwsResourceAdmin


@admin.register(Desktop)
class DesktopAdmin(AwsResourceAdmin):
    list_display = [
        "workspace_id",
        "user_name",
        "customer",
        "directory",
        "bundle",
        "state",
        "running_mode",
        "compute_type",
        "last_synced_at",
    ]
    list_select_related = ["aws_account__customer", "directory", "bundle"]
    list_filter = ["state", "running_mode", "compute_type", "region", "aws_account__customer"]

    def get_urls(self):
        create = path(
            "create/", self.admin_site.admin_view(self.create_desktops_view), name="tenants_desktop_create"
        )
        return [create, *super().get_urls()]

    def create_desktops_view(self, request: HttpRequest) -> HttpResponse:
        """The staff form for bulk creation; it calls the same service as the command and the API."""
        # Imported here: the admin is a web entry point onto orchestration, the models never are.
        from orchestration.actors import Actor
        from orchestration.forms import DesktopCreateForm
        from orchestration.services.desktops import DesktopCreateInvalid, desktop_create_bulk

        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = DesktopCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = desktop_create_bulk(actor=Actor.for_user(request.user), request=form.to_request())
            except DesktopCreateInvalid as invalid:
                for field, problems in invalid.errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                self.message_user(
                    request, f"Job {job.pk} is creating {job.total_items} desktops.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "title": "Create desktops"}
        return TemplateResponse(request, "admin/tenants/desktop/create_desktops.html", context)

    search_fields = ["workspace_id", "user_name", "computer_name", "aws_account__account_id"]
    show_full_result_count = False
    raw_id_fields = ["power_policy"]
    readonly_fields = [
        "aws_account",
        "region",
        "directory",
        "bundle",
        "workspace_id",
        "user_name",
        "workspace_name",
        "computer_name",
        "ip_address",
        "state",
        "state_changed_at",
        "running_mode",
        "compute_type",
        "root_volume_gib",
        "user_volume_gib",
        "error_code",
        "error_message",
        "tags",
        "last_synced_at",
        "created_at",
        "updated_at",
    ]
