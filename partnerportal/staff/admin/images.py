"""Admin for WorkSpaces images: import from an AMI, create from a desktop, copy, share, delete, refresh.

Every page and action calls the audited image services; nothing here talks to AWS itself.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from orchestration.actors import Actor
from orchestration.services.errors import AwsError
from orchestration.services.images import (
    ImageInvalid,
    ami_list,
    image_copy,
    image_create_from_desktop,
    image_delete,
    image_import,
    image_permission_list,
    image_permission_update,
    image_sync,
)
from partnerportal.staff.forms.images import (
    AmiSourceForm,
    ImageCopyForm,
    ImageFromDesktopForm,
    ImageImportForm,
    ImageShareForm,
)
from tenants.models import AwsAccount, Desktop, Image

from .base import AwsResourceAdmin, add_service_errors, job_message, staff_scope, staff_scope_choices


@admin.register(Image)
class ImageAdmin(AwsResourceAdmin):
    list_display = ["image_id", "name", "customer", "region", "state", "ingestion_process", "source_ami_id"]
    list_filter = ["state", "ingestion_process", "region"]
    search_fields = ["image_id", "name", "source_ami_id", "aws_account__account_id"]
    actions = ["copy_to_regions", "share_with_account", "delete_images", "refresh_from_aws"]
    readonly_fields = [
        "aws_account",
        "region",
        "image_id",
        "name",
        "description",
        "state",
        "ingestion_process",
        "source_ami_id",
        "source_image",
        "operating_system_type",
        "required_tenancy",
        "owner_account_id",
        "error_code",
        "error_message",
        "tags",
        "last_synced_at",
        "missing_from_aws_since",
        "created_at",
        "updated_at",
    ]

    def get_urls(self):
        views = [
            path("import/", self.admin_site.admin_view(self.import_view), name="tenants_image_import"),
            path(
                "create-from-desktop/",
                self.admin_site.admin_view(self.create_from_desktop_view),
                name="tenants_image_create_from_desktop",
            ),
        ]
        return [*views, *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Pick an account and region, see its AMIs with the seed's columns and why some cannot be imported,
        then import one: the same service as the command."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        source = staff_scope_choices(request, AmiSourceForm(request.GET or None))
        form = ImageImportForm(request.POST or None)
        amis = None
        if source.is_valid():
            account: AwsAccount = source.cleaned_data["aws_account"]
            region = source.cleaned_data["region"]
            actor = Actor.for_user(request.user)
            if request.method == "POST" and "sync" in request.POST:
                try:
                    report = image_sync(aws_account=account, region=region)
                except AwsError as error:
                    self.message_user(request, f"AWS refused: {error}", messages.ERROR)
                else:
                    self.message_user(request, _sync_summary(report), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:tenants_image_changelist"))
            if request.method == "POST" and form.is_valid():
                try:
                    job = image_import(actor=actor, aws_account=account, region=region, **form.cleaned_data)
                except ImageInvalid as invalid:
                    add_service_errors(form, invalid)
                else:
                    self.message_user(
                        request, job_message(job, "is importing {}.", form.cleaned_data["ami_id"])
                    )
                    return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
            try:
                amis = ami_list(aws_account=account, region=region)
            except AwsError as error:
                self.message_user(request, f"Could not list the AMIs: {error}", messages.ERROR)
                amis = []
        elif request.method == "POST":
            form.add_error(None, "Choose the AWS account and region first.")
        return self.render_page(
            request,
            "admin/tenants/image/import.html",
            "Import an image from an AMI",
            source=source,
            form=form,
            amis=amis,
            chosen_ami=form["ami_id"].value(),
        )

    def create_from_desktop_view(self, request: HttpRequest) -> HttpResponse:
        """Image one of our AVAILABLE desktops (the golden-image step), chosen by WorkSpace id."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        form = ImageFromDesktopForm(
            request.POST or None, desktops=staff_scope(request, Desktop.objects.all())
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = image_create_from_desktop(
                    actor=Actor.for_user(request.user),
                    desktop=data["workspace_id"],
                    name=data["name"],
                    description=data["description"],
                )
            except ImageInvalid as invalid:
                add_service_errors(form, invalid)
            else:
                self.message_user(
                    request, job_message(job, "is imaging {}.", data["workspace_id"].workspace_id)
                )
                return HttpResponseRedirect(reverse("admin:orchestration_job_change", args=[job.pk]))
        return self.render_page(
            request,
            "admin/tenants/image/create_from_desktop.html",
            "Create an image from a desktop",
            form=form,
        )

    def _action_page(self, request, queryset, *, action: str, title: str, submit: str, form=None, notes=None):
        rows = []
        for image in queryset:
            note = (notes or {}).get(image.pk, "")
            rows.append((image, f"{image} in {image.region} ({image.state})" + (f": {note}" if note else "")))
        return self.confirm_page(
            request, rows, action=action, title=title, submit=submit, form=form, confirm_field="apply"
        )

    def _report(self, request, image: Image, problem) -> None:
        """One image's refusal or AWS error as a message naming the image."""
        if isinstance(problem, ImageInvalid):
            text = " ".join(message for messages_ in problem.errors.values() for message in messages_)
        else:
            text = f"AWS refused: {problem.code}: {problem.message}"
        self.message_user(request, f"Image {image.image_id}: {text}", messages.ERROR)

    @admin.action(description="Copy to regions…", permissions=["change"])
    def copy_to_regions(self, request: HttpRequest, queryset):
        queryset = queryset.select_related("aws_account__customer")
        regions = sorted({region for image in queryset for region in image.aws_account.regions})
        form = ImageCopyForm(request.POST if "apply" in request.POST else None, regions=regions)
        if form.is_valid():
            data = form.cleaned_data
            for image in queryset:
                try:
                    job = image_copy(
                        actor=Actor.for_user(request.user),
                        image=image,
                        regions=[r for r in data["regions"] if r != image.region],
                        name=data["name"],
                        description=data["description"],
                    )
                except ImageInvalid as invalid:
                    self._report(request, image, invalid)
                else:
                    self.message_user(
                        request, job_message(job, "is copying {}.", image.image_id), messages.SUCCESS
                    )
            return None
        return self._action_page(
            request,
            queryset,
            action="copy_to_regions",
            title="Copy images to regions",
            submit="Copy",
            form=form,
        )

    @admin.action(description="Share with account…", permissions=["change"])
    def share_with_account(self, request: HttpRequest, queryset):
        queryset = queryset.select_related("aws_account__customer")
        form = ImageShareForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            data = form.cleaned_data
            for image in queryset:
                try:
                    image_permission_update(
                        actor=Actor.for_user(request.user),
                        image=image,
                        account_id=data["account_id"].strip(),
                        allow=data["allow"],
                    )
                except (ImageInvalid, AwsError) as problem:
                    self._report(request, image, problem)
                else:
                    verb = "shared with" if data["allow"] else "no longer shared with"
                    self.message_user(
                        request, f"Image {image.image_id} {verb} {data['account_id']}.", messages.SUCCESS
                    )
            return None
        notes = {}
        for image in queryset:
            try:
                shared = image_permission_list(image=image)
            except AwsError as error:
                notes[image.pk] = f"could not read its permissions: {error}"
            else:
                notes[image.pk] = f"shared with {', '.join(shared)}" if shared else "not shared"
        return self._action_page(
            request,
            queryset,
            action="share_with_account",
            title="Share images with an account",
            submit="Apply",
            form=form,
            notes=notes,
        )

    @admin.action(description="Delete (in AWS)…", permissions=["change"])
    def delete_images(self, request: HttpRequest, queryset):
        queryset = queryset.select_related("aws_account__customer").prefetch_related("bundles")
        if "apply" in request.POST:
            for image in queryset:
                try:
                    image_delete(actor=Actor.for_user(request.user), image=image)
                except (ImageInvalid, AwsError) as problem:
                    self._report(request, image, problem)
                else:
                    self.message_user(request, f"Deleted {image.image_id}.", messages.SUCCESS)
            return None
        notes = {image.pk: ", ".join(f"used by {b}" for b in image.bundles.all()) for image in queryset}
        return self._action_page(
            request,
            queryset,
            action="delete_images",
            title="Delete these images in AWS? This cannot be undone.",
            submit="Delete",
            notes=notes,
        )

    @admin.action(description="Refresh from AWS", permissions=["change"])
    def refresh_from_aws(self, request: HttpRequest, queryset) -> None:
        places = {(image.aws_account, image.region) for image in queryset.select_related("aws_account")}
        for account, region in sorted(places, key=lambda place: (place[0].account_id, place[1])):
            try:
                report = image_sync(aws_account=account, region=region)
            except AwsError as error:
                self.message_user(
                    request, f"{account.account_id} {region}: AWS refused: {error}", messages.ERROR
                )
            else:
                self.message_user(request, _sync_summary(report), messages.SUCCESS)


def _sync_summary(report: dict) -> str:
    parts = [f"{report['aws_account_id']} {report['region']}: {report['images_in_aws']} image(s) in AWS"]
    if report["state_changes"]:
        parts.append(", ".join(f"{c['image_id']} {c['from']}→{c['to']}" for c in report["state_changes"]))
    if report["adopted"]:
        parts.append(f"adopted {', '.join(report['adopted'])}")
    if report["not_ours"]:
        parts.append(f"not ours (left alone): {', '.join(i['image_id'] for i in report['not_ours'])}")
    if report["missing"]:
        parts.append(f"no longer in AWS: {', '.join(report['missing'])}")
    return "; ".join(parts) + "."
