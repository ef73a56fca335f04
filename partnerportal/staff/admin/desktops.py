"""Admin for desktops (WorkSpaces): the bulk-create form, actions on a selection, snapshots on demand.

Every action goes through `desktop_action_bulk`, the same service the command uses: one job per
customer in the selection. Rebuild and terminate ask for confirmation first, as Django's delete does;
modify and migrate ask for their parameters on an intermediate page.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from orchestration.actors import Actor
from orchestration.models import JobItem
from orchestration.selectors import AuditFilters, audit_event_list
from orchestration.services.desktop_actions import (
    ACTIONS,
    DesktopActionInvalid,
    desktop_action_bulk,
    desktop_action_summary,
    desktop_snapshots,
)
from orchestration.services.desktop_forget import DesktopForgetInvalid, desktop_forget
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB, DesktopCreateInvalid, desktop_create_bulk
from orchestration.services.errors import AwsError
from partnerportal.staff.forms.desktops import DesktopCreateForm, DesktopMigrateForm, DesktopModifyForm
from partnerportal.staff.readable import compute_type_label
from tenants.access import DESKTOP_ACTION_CAPABILITIES, principal_for_user
from tenants.models import Bundle, Customer, Desktop, DesktopActivity

from .base import AwsResourceAdmin, add_service_errors, job_message, staff_scope, staff_scope_choices

# Shown before a destructive action is confirmed.
REBUILD_WARNING = (
    "Rebuilding recreates the system volume from the bundle's image and restores the user volume from "
    "its latest snapshot: anything saved since that snapshot is lost. The users are disconnected."
)
FORGET_WARNING = (
    "Forget these desktops only when AWS no longer knows them (AWS is asked first; a WorkSpace it still "
    "lists is refused: terminate it instead). The rows and their state history stay, for billing and "
    "audit; they are no longer managed."
)
TERMINATE_WARNING = (
    "Terminating deletes the WorkSpaces and their volumes for good; this cannot be undone. The users are "
    "disconnected at once."
)
PREVIEW_ROWS = 50
# The actions a desktop's own page offers, in button order, with the warning its confirmation shows.
PAGE_ACTIONS: dict[str, str] = {
    "start": "",
    "stop": "The user is disconnected; what is not saved is lost.",
    "reboot": "The user is disconnected; what is not saved is lost.",
    "restore": "The desktop goes back to its latest restore snapshot: anything saved since is lost.",
    "rebuild": REBUILD_WARNING,
    "maintenance-on": "",
    "maintenance-off": "",
    "terminate": TERMINATE_WARNING,
}
PAGE_HISTORY = 20


def job_url(job) -> str:
    return reverse("admin:orchestration_job_change", args=[job.pk])


@admin.register(Desktop)
class DesktopAdmin(AwsResourceAdmin):
    # State second, so it is on screen at 1280 px whatever the names; ids do not wrap (console.css).
    list_display = [
        "workspace_id",
        "state",
        "user_name",
        "customer",
        "bundle",
        "directory",
        "running_mode",
        "compute",
    ]
    list_select_related = ["aws_account__customer", "directory", "bundle"]
    list_filter = ["state", "running_mode", "compute_type", "region", "aws_account__customer"]
    actions = [
        "start_desktops",
        "stop_desktops",
        "reboot_desktops",
        "rebuild_desktops",
        "restore_desktops",
        "maintenance_on",
        "maintenance_off",
        "modify_desktops",
        "migrate_desktops",
        "terminate_desktops",
        "forget_desktops",
    ]

    def get_urls(self):
        create = path(
            "create/", self.admin_site.admin_view(self.create_desktops_view), name="tenants_desktop_create"
        )
        snapshots = path(
            "<path:object_id>/snapshots/",
            self.admin_site.admin_view(self.snapshots_view),
            name="tenants_desktop_snapshots",
        )
        act = path(
            "<path:object_id>/act/<str:action>/",
            self.admin_site.admin_view(self.desktop_act_view),
            name="tenants_desktop_act",
        )
        return [create, snapshots, act, *super().get_urls()]

    # ------------------------------------------------------------------------------- a desktop's page

    def _may(self, request: HttpRequest, action: str) -> bool:
        return self._has_capability(request, DESKTOP_ACTION_CAPABILITIES[action])

    def page_actions(self, request: HttpRequest, desktop: Desktop) -> list[tuple[str, str]]:
        """(action, label) for each button the page shows: allowed to this user, possible in this state."""
        offered = []
        for action in PAGE_ACTIONS:
            spec = ACTIONS[action]
            if not self._may(request, action):
                continue
            if spec.from_states is not None and desktop.state not in spec.from_states:
                continue
            offered.append((action, spec.verb[:1].upper() + spec.verb[1:]))
        return offered

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        desktop = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if desktop is not None:
            audit = audit_event_list(
                principal=principal_for_user(request.user),
                filters=AuditFilters(target_id=desktop.workspace_id or f"desktop {desktop.pk}"),
            )
            context.update(
                page_actions=self.page_actions(request, desktop),
                timeline=list(desktop.state_changes.order_by("-changed_at", "-id")[:PAGE_HISTORY]),
                activity=DesktopActivity.objects.filter(desktop=desktop).first(),
                audit=list(audit.select_related("job")[:PAGE_HISTORY]),
                job_items=list(
                    JobItem.objects.filter(desktop=desktop)
                    .select_related("job")
                    .order_by("-id")[:PAGE_HISTORY]
                ),
            )
        return super().change_view(request, object_id, form_url, context)

    def desktop_act_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """One action on one desktop from its page: a confirmation page, then (posted) the same service
        as the list's actions; back to the desktop with a message that links to the job."""
        desktop = self.get_object(request, object_id)
        if desktop is None or not self.has_view_permission(request, desktop):
            raise Http404("No such desktop.")
        if action not in PAGE_ACTIONS:
            raise Http404("No such action.")
        if not self._may(request, action):
            return HttpResponse(status=403)
        verb = ACTIONS[action].verb
        if request.method == "POST":
            self._act(request, Desktop.objects.filter(pk=desktop.pk), action)
            return HttpResponseRedirect(reverse("admin:tenants_desktop_change", args=[desktop.pk]))
        return self.render_page(
            request,
            "admin/tenants/desktop/act_confirm.html",
            f"{verb[:1].upper()}{verb[1:]} {desktop.workspace_id or desktop.workspace_name}?",
            original=desktop,
            verb=verb,
            warning=PAGE_ACTIONS[action],
        )

    def create_desktops_view(self, request: HttpRequest) -> HttpResponse:
        """The staff form for bulk creation; it calls the same service as the command and the API."""
        if not self.has_provision_permission(request):
            return HttpResponse(status=403)
        customers = staff_scope(request, Customer.objects.filter(is_active=True))
        if request.method == "POST":
            form = DesktopCreateForm(request.POST, customers=customers)
        else:  # the page itself, or htmx asking again after a choice changed: choices chained, no errors yet
            form = DesktopCreateForm(initial=request.GET.dict(), customers=customers)
        form = staff_scope_choices(request, form)
        if request.method == "POST" and form.is_valid():
            try:
                job = desktop_create_bulk(actor=Actor.for_user(request.user), request=form.to_request())
            except DesktopCreateInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(
                    request,
                    job_message(job, "is creating {} desktops.", job.total_items),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
        return self.render_page(
            request, "admin/tenants/desktop/create_desktops.html", "Create desktops", form=form
        )

    @admin.display(description="Compute type", ordering="compute_type")
    def compute(self, obj: Desktop) -> str:
        return compute_type_label(obj.compute_type)

    def snapshots_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The desktop's snapshots, read from AWS when staff ask for them (never on every page view)."""
        desktop = self.get_object(request, object_id)
        if desktop is None or not self.has_view_permission(request, desktop):
            raise Http404("No such desktop.")
        snapshots, error = None, ""
        try:
            snapshots = desktop_snapshots(desktop=desktop)
        except DesktopActionInvalid as invalid:
            error = str(invalid)
        except AwsError as aws_error:
            error = f"AWS refused to list the snapshots: {aws_error.code}: {aws_error.message}"
        return self.render_page(
            request,
            "admin/tenants/desktop/snapshots.html",
            f"Snapshots of {desktop}",
            original=desktop,
            snapshots=snapshots,
            error=error,
        )

    # ------------------------------------------------------------------------------------- actions

    def _act(
        self, request: HttpRequest, queryset: QuerySet[Desktop], action: str, params: dict | None = None
    ):
        """Run the action as one job per customer in the selection, and say what became of it."""
        by_customer: dict[Customer, list[Desktop]] = {}
        for desktop in queryset.select_related("aws_account__customer"):
            by_customer.setdefault(desktop.aws_account.customer, []).append(desktop)
        actor = Actor.for_user(request.user)
        for customer, desktops in by_customer.items():
            try:
                job = desktop_action_bulk(
                    actor=actor, customer=customer, desktops=desktops, action=action, params=params
                )
            except DesktopActionInvalid as invalid:
                problems = " ".join(m for messages_ in invalid.errors.values() for m in messages_)
                self.message_user(request, f"{customer.name}: nothing was sent. {problems}", messages.ERROR)
            else:
                partial = bool(job.result.get("not_eligible"))
                self.message_user(
                    request,
                    format_html(
                        '{}: {} <a href="{}">Follow job {}</a>',
                        customer.name,
                        desktop_action_summary(job=job),
                        job_url(job),
                        job.pk,
                    ),
                    messages.WARNING if partial else messages.SUCCESS,
                )

    def _too_many(self, request: HttpRequest, queryset: QuerySet[Desktop]) -> bool:
        count = queryset.count()
        if count > MAX_DESKTOPS_PER_JOB:
            self.message_user(
                request,
                f"One action takes at most {MAX_DESKTOPS_PER_JOB} desktops; {count} are selected. "
                "Narrow the selection with the filters.",
                messages.ERROR,
            )
            return True
        return False

    def _intermediate(
        self,
        request: HttpRequest,
        queryset: QuerySet[Desktop],
        *,
        action_name: str,
        title: str,
        warning: str = "",
        form=None,
        submit: str,
    ) -> TemplateResponse:
        """The confirmation or parameters page; it posts the same selection back to the same action."""
        return self.render_page(
            request,
            "admin/tenants/desktop/action_intermediate.html",
            title,
            warning=warning,
            form=form,
            submit=submit,
            action_name=action_name,
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
            selected_pks=list(queryset.values_list("pk", flat=True)),
            preview=queryset.select_related("aws_account__customer")[:PREVIEW_ROWS],
            count=queryset.count(),
        )

    @admin.action(description="Start selected desktops", permissions=["power"])
    def start_desktops(self, request, queryset):
        self._act(request, queryset, "start")

    @admin.action(description="Stop selected desktops", permissions=["power"])
    def stop_desktops(self, request, queryset):
        self._act(request, queryset, "stop")

    @admin.action(description="Reboot selected desktops", permissions=["power"])
    def reboot_desktops(self, request, queryset):
        self._act(request, queryset, "reboot")

    @admin.action(description="Restore selected desktops from their latest snapshot", permissions=["repair"])
    def restore_desktops(self, request, queryset):
        self._act(request, queryset, "restore")

    @admin.action(description="Put selected desktops in admin maintenance", permissions=["provision"])
    def maintenance_on(self, request, queryset):
        self._act(request, queryset, "maintenance-on")

    @admin.action(description="Take selected desktops out of admin maintenance", permissions=["provision"])
    def maintenance_off(self, request, queryset):
        self._act(request, queryset, "maintenance-off")

    @admin.action(description="Rebuild selected desktops…", permissions=["repair"])
    def rebuild_desktops(self, request, queryset):
        if self._too_many(request, queryset):
            return None
        if request.POST.get("post") == "yes":
            self._act(request, queryset, "rebuild")
            return None
        return self._intermediate(
            request,
            queryset,
            action_name="rebuild_desktops",
            title="Rebuild desktops?",
            warning=REBUILD_WARNING,
            submit="Yes, rebuild them",
        )

    @admin.action(description="Terminate selected desktops…", permissions=["provision"])
    def terminate_desktops(self, request, queryset):
        if self._too_many(request, queryset):
            return None
        if request.POST.get("post") == "yes":
            self._act(request, queryset, "terminate")
            return None
        return self._intermediate(
            request,
            queryset,
            action_name="terminate_desktops",
            title="Terminate desktops?",
            warning=TERMINATE_WARNING,
            submit="Yes, terminate them",
        )

    @admin.action(description="Forget selected desktops AWS no longer knows…", permissions=["provision"])
    def forget_desktops(self, request, queryset):
        if self._too_many(request, queryset):
            return None
        if request.POST.get("post") == "yes":
            try:
                forgotten = desktop_forget(actor=Actor.for_user(request.user), desktops=list(queryset))
            except DesktopForgetInvalid as invalid:
                problems = " ".join(m for messages_ in invalid.errors.values() for m in messages_)
                self.message_user(request, f"Nothing was forgotten. {problems}", messages.ERROR)
            except AwsError as error:
                self.message_user(request, f"Nothing was forgotten: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Forgot {len(forgotten)} desktop(s); their history stays.")
            return None
        return self._intermediate(
            request,
            queryset,
            action_name="forget_desktops",
            title="Forget desktops?",
            warning=FORGET_WARNING,
            submit="Yes, forget them",
        )

    @admin.action(description="Modify selected desktops' properties…", permissions=["provision"])
    def modify_desktops(self, request, queryset):
        if self._too_many(request, queryset):
            return None
        form = DesktopModifyForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            self._act(request, queryset, "modify", form.to_params())
            return None
        return self._intermediate(
            request,
            queryset,
            action_name="modify_desktops",
            title="Modify desktops",
            form=form,
            submit="Modify",
        )

    @admin.action(description="Migrate selected desktops to another bundle…", permissions=["provision"])
    def migrate_desktops(self, request, queryset):
        if self._too_many(request, queryset):
            return None
        accounts = queryset.values_list("aws_account_id", flat=True).distinct()
        bundles = staff_scope(request, Bundle.objects.filter(aws_account_id__in=accounts))
        form = DesktopMigrateForm(
            request.POST if request.POST.get("post") == "yes" else None, bundles=bundles
        )
        if form.is_bound and form.is_valid():
            self._act(request, queryset, "migrate", form.to_params())
            return None
        return self._intermediate(
            request,
            queryset,
            action_name="migrate_desktops",
            title="Migrate desktops to another bundle",
            warning="Each desktop is replaced by a new WorkSpace on the bundle; the old one is terminated.",
            form=form,
            submit="Migrate",
        )

    search_fields = ["workspace_id", "user_name", "computer_name", "aws_account__account_id"]
    show_full_result_count = False
    raw_id_fields = ["power_policy"]
    # What AWS says first; facts the machinery records (missing, stopped by AWS, released) read-only
    # below; the one thing staff change here, the desktop's own power policy, last.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("workspace_id", "state", "state_changed_at"),
                    ("user_name", "computer_name", "ip_address"),
                    ("aws_account", "region", "directory"),
                    ("bundle", "running_mode", "compute"),
                    ("root_volume_gib", "user_volume_gib"),
                ]
            },
        ),
        (
            "What the control plane found",
            {
                "fields": [
                    ("error_code", "error_message"),
                    ("missing_from_aws_since", "stopped_by_aws_at"),
                    ("unmanaged_at", "unmanaged_reason"),
                    ("workspace_name", "tags_in_words"),
                    ("last_synced_at", "created_at", "updated_at"),
                ]
            },
        ),
        ("Power policy", {"fields": ["power_policy"]}),
    ]

    @admin.display(description="Tags")
    def tags_in_words(self, obj: Desktop) -> str:
        return ", ".join(f"{key}={value}" for key, value in sorted((obj.tags or {}).items())) or "—"

    readonly_fields = [
        "compute",
        "tags_in_words",
        "missing_from_aws_since",
        "stopped_by_aws_at",
        "unmanaged_at",
        "unmanaged_reason",
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
