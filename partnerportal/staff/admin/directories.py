"""Admin for WorkSpaces directories: register (a job), deregister, security group, maintenance, refresh.

Every change goes through the audited services in orchestration.services.directories; rows are never
deleted or edited by hand here, because they mirror AWS.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from orchestration.actors import Actor
from orchestration.services.directories import (
    DirectoryInvalid,
    directory_candidates,
    directory_deregister,
    directory_register,
    directory_required_tenancy,
    directory_set_maintenance_mode,
    directory_set_security_group,
    directory_sync,
)
from orchestration.services.errors import AwsError
from partnerportal.staff.forms.directories import DirectoryRegisterForm, SecurityGroupForm
from tenants.models import AwsAccount, Directory

from .base import AwsResourceAdmin, add_service_errors, job_message, staff_scope, staff_scope_choices


def _errors_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(problems)}" for field, problems in errors.items())


@admin.register(Directory)
class DirectoryAdmin(AwsResourceAdmin):
    list_display = [
        "directory_id",
        "name",
        "customer",
        "region",
        "state",
        "tenancy",
        "custom_security_group_id",
        "maintenance_mode_enabled",
        "last_synced_at",
    ]
    list_filter = ["state", "tenancy", "region", "maintenance_mode_enabled"]
    search_fields = ["directory_id", "name", "alias", "aws_account__account_id"]
    change_list_template = "admin/tenants/directory/change_list.html"
    actions = ["deregister", "set_security_group", "maintenance_on", "maintenance_off", "refresh_from_aws"]
    readonly_fields = [
        "aws_account",
        "region",
        "directory_id",
        "name",
        "alias",
        "directory_type",
        "state",
        "tenancy",
        "subnet_ids",
        "registration_code",
        "workspace_security_group_id",
        "custom_security_group_id",
        "maintenance_mode_enabled",
        "tags",
        "last_synced_at",
        "missing_from_aws_since",
        "created_at",
        "updated_at",
    ]

    def get_urls(self):
        register = path(
            "register/", self.admin_site.admin_view(self.register_view), name="tenants_directory_register"
        )
        return [register, *super().get_urls()]

    def register_view(self, request: HttpRequest) -> HttpResponse:
        """Pick an account and region, see its unregistered directories, register one (a job)."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = staff_scope_choices(
            request, DirectoryRegisterForm(request.POST or None, initial=request.GET.dict())
        )
        accounts = staff_scope(request, AwsAccount.objects.select_related("customer"))
        account_pk = (request.POST or request.GET).get("aws_account")
        account = accounts.filter(pk=account_pk).first() if account_pk else None
        region = (request.POST or request.GET).get("region") or (account.default_region if account else "")
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = directory_register(
                    actor=Actor.for_user(request.user),
                    aws_account=data["aws_account"],
                    region=data["region"],
                    directory_id=data["directory_id"].strip(),
                    subnet_ids=form.subnet_list(),
                    tenancy=data["tenancy"],
                )
            except DirectoryInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(
                    request, job_message(job, "is registering {}.", data["directory_id"]), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
        candidates, lookup_error, rule = [], "", ""
        if account is not None:
            rule = directory_required_tenancy(aws_account=account)
            if request.method == "GET":
                try:
                    candidates = directory_candidates(aws_account=account, region=region)
                except AwsError as error:
                    lookup_error = str(error)
        return self.render_page(
            request,
            "admin/tenants/directory/register.html",
            "Register a directory",
            form=form,
            accounts=accounts,
            account=account,
            region=region,
            candidates=candidates,
            lookup_error=lookup_error,
            tenancy_rule=rule,
        )

    def _report(self, request: HttpRequest, directory: Directory, call) -> None:
        try:
            call()
        except DirectoryInvalid as invalid:
            self.message_user(
                request, f"{directory.directory_id}: {_errors_text(invalid.errors)}", messages.ERROR
            )
        except AwsError as error:
            self.message_user(request, f"{directory.directory_id}: {error}", messages.ERROR)
        else:
            self.message_user(request, f"{directory.directory_id}: done.", messages.SUCCESS)

    @admin.action(description="Deregister from WorkSpaces…", permissions=["change"])
    def deregister(self, request: HttpRequest, queryset):
        if request.POST.get("confirmed"):
            actor = Actor.for_user(request.user)
            for directory in queryset:
                self._report(
                    request, directory, lambda d=directory: directory_deregister(actor=actor, directory=d)
                )
            return None
        return self._intermediate(
            request,
            queryset,
            "deregister",
            "Deregister directories",
            "WorkSpaces forgets these directories (refused while live desktops use them).",
        )

    @admin.action(description="Set custom security group…", permissions=["change"])
    def set_security_group(self, request: HttpRequest, queryset):
        form = SecurityGroupForm(request.POST if request.POST.get("confirmed") else None)
        if form.is_bound and form.is_valid():
            actor = Actor.for_user(request.user)
            group = form.cleaned_data["security_group_id"]
            for directory in queryset:
                self._report(
                    request,
                    directory,
                    lambda d=directory: directory_set_security_group(
                        actor=actor, directory=d, security_group_id=group
                    ),
                )
            return None
        return self._intermediate(
            request,
            queryset,
            "set_security_group",
            "Set a custom security group",
            "New desktops in these directories get this security group (R6).",
            form=form,
        )

    def _maintenance(self, request: HttpRequest, queryset, enabled: bool) -> None:
        actor = Actor.for_user(request.user)
        for directory in queryset:
            self._report(
                request,
                directory,
                lambda d=directory: directory_set_maintenance_mode(actor=actor, directory=d, enabled=enabled),
            )

    @admin.action(description="Maintenance window on", permissions=["change"])
    def maintenance_on(self, request: HttpRequest, queryset) -> None:
        self._maintenance(request, queryset, True)

    @admin.action(description="Maintenance window off (opt out, R10)", permissions=["change"])
    def maintenance_off(self, request: HttpRequest, queryset) -> None:
        self._maintenance(request, queryset, False)

    @admin.action(description="Refresh from AWS", permissions=["change"])
    def refresh_from_aws(self, request: HttpRequest, queryset) -> None:
        self.sync_each_place(
            request,
            queryset,
            directory_sync,
            lambda report: (
                f"{report['seen']} in AWS, adopted {len(report['adopted'])}, "
                f"missing {len(report['missing'])}, lost tag {len(report['lost_tag'])}."
            ),
        )

    def _intermediate(self, request, queryset, action: str, title: str, explanation: str, form=None):
        rows = [(directory, f"{directory} — {directory.state or 'not registered'}") for directory in queryset]
        return self.confirm_page(
            request, rows, action=action, title=title, explanation=explanation, form=form
        )
