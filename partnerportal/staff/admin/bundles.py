"""Admin for WorkSpaces bundles: create from an image, update to a new image, delete, refresh.

Every change goes through the audited services in orchestration.services.bundles; rows mirror AWS,
so they are never deleted or edited by hand here.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from orchestration.actors import Actor
from orchestration.services.bundles import (
    BundleCreateRequest,
    BundleInvalid,
    bundle_create,
    bundle_delete,
    bundle_sync,
    bundle_update_image,
)
from orchestration.services.errors import AwsError
from partnerportal.staff.forms.bundles import BundleCreateForm, UpdateImageForm
from tenants.models import Bundle

from .base import AwsResourceAdmin, add_service_errors, staff_scope_choices


@admin.register(Bundle)
class BundleAdmin(AwsResourceAdmin):
    list_display = [
        "bundle_id",
        "name",
        "customer",
        "region",
        "compute_type",
        "image",
        "state",
        "last_synced_at",
    ]
    list_select_related = ["aws_account__customer", "image"]
    list_filter = ["state", "compute_type", "region"]
    search_fields = ["bundle_id", "name", "aws_account__account_id"]
    change_list_template = "admin/tenants/bundle/change_list.html"
    actions = ["update_image", "delete_in_aws", "refresh_from_aws"]
    readonly_fields = [
        "aws_account",
        "region",
        "bundle_id",
        "name",
        "description",
        "image",
        "compute_type",
        "root_volume_gib",
        "user_volume_gib",
        "state",
        "tags",
        "last_synced_at",
        "missing_from_aws_since",
        "created_at",
        "updated_at",
    ]

    def get_urls(self):
        create = path("create/", self.admin_site.admin_view(self.create_view), name="tenants_bundle_create")
        return [create, *super().get_urls()]

    def create_view(self, request: HttpRequest) -> HttpResponse:
        """The staff form for CreateWorkspaceBundle; it calls the same service as the command."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = staff_scope_choices(request, BundleCreateForm(request.POST or None))
        if request.method == "POST" and form.is_valid():
            try:
                bundle = bundle_create(
                    actor=Actor.for_user(request.user), request=BundleCreateRequest(**form.cleaned_data)
                )
            except BundleInvalid as invalid:
                add_service_errors(form, invalid)
            except AwsError as error:
                form.add_error(None, f"AWS refused: {error}")
            else:
                self.message_user(request, f"Bundle {bundle.bundle_id} created.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tenants_bundle_change", args=[bundle.pk]))
        return self.render_page(request, "admin/tenants/bundle/create.html", "Create a bundle", form=form)

    def _report(self, request: HttpRequest, bundle: Bundle, call) -> None:
        try:
            call()
        except BundleInvalid as invalid:
            problems = "; ".join(" ".join(p) for p in invalid.errors.values())
            self.message_user(request, f"{bundle.bundle_id}: {problems}", messages.ERROR)
        except AwsError as error:
            self.message_user(request, f"{bundle.bundle_id}: {error}", messages.ERROR)
        else:
            self.message_user(request, f"{bundle.bundle_id}: done.", messages.SUCCESS)

    @admin.action(description="Update to image…", permissions=["change"])
    def update_image(self, request: HttpRequest, queryset):
        form = staff_scope_choices(
            request, UpdateImageForm(request.POST if request.POST.get("confirmed") else None)
        )
        if form.is_bound and form.is_valid():
            actor = Actor.for_user(request.user)
            image = form.cleaned_data["image"]
            for bundle in queryset:
                self._report(
                    request, bundle, lambda b=bundle: bundle_update_image(actor=actor, bundle=b, image=image)
                )
            return None
        return self._intermediate(
            request, queryset, "update_image", "Update bundles to a new image", "UpdateWorkspaceBundle.", form
        )

    @admin.action(description="Delete in AWS…", permissions=["change"])
    def delete_in_aws(self, request: HttpRequest, queryset):
        if request.POST.get("confirmed"):
            actor = Actor.for_user(request.user)
            for bundle in queryset:
                self._report(request, bundle, lambda b=bundle: bundle_delete(actor=actor, bundle=b))
            return None
        return self._intermediate(
            request,
            queryset,
            "delete_in_aws",
            "Delete bundles",
            "DeleteWorkspaceBundle (refused while live desktops or a golden-image pipeline use one).",
        )

    @admin.action(description="Refresh from AWS", permissions=["change"])
    def refresh_from_aws(self, request: HttpRequest, queryset) -> None:
        self.sync_each_place(
            request,
            queryset,
            bundle_sync,
            lambda report: (
                f"{report['seen']} in AWS, adopted {len(report['adopted'])}, "
                f"untracked {len(report['untracked'])}, missing {len(report['missing'])}, "
                f"lost tag {len(report['lost_tag'])}."
            ),
        )

    def _intermediate(self, request, queryset, action: str, title: str, explanation: str, form=None):
        rows = [
            (bundle, f"{bundle} — image {(bundle.image.image_id if bundle.image else '') or 'unknown'}")
            for bundle in queryset
        ]
        return self.confirm_page(
            request, rows, action=action, title=title, explanation=explanation, form=form
        )
