"""Running image jobs: import an AMI, image a desktop, copy an image to another region (one image an item).

An item is marked submitted before its create call, and a later delivery first looks for the image by
the name we gave it and adopts it (none of the three calls has an idempotency token). The `Image` row
appears when AWS returns the image id; the poll follows it to AVAILABLE or ERROR with AWS's own code,
message and details.
"""

from datetime import timedelta
from typing import ClassVar, Unpack

from django.db import transaction
from django.utils import timezone

from orchestration.aws.errors import AwsError
from orchestration.aws.images import (
    ImageMade,
    workspace_image_copy,
    workspace_image_create,
    workspace_image_find,
    workspace_image_import,
    workspace_images_describe,
)
from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE, is_partner_managed, partner_tags
from orchestration.aws.types import AccountAccess
from orchestration.aws.workspaces import resource_tags
from orchestration.choices import AuditOutcome, JobKind
from orchestration.engine.items import items_mark_submitted
from orchestration.engine.runner import JobRunner
from orchestration.failpoints import failpoint
from orchestration.models import AuditEvent, JobItem
from orchestration.services.accounts import account_access
from orchestration.services.audit import AuditResult, audit_event_for_job
from orchestration.services.images.rows import image_fields
from tenants.choices import ImageState
from tenants.models import AwsAccount, Image

# Imports take most of an hour and copies twenty minutes: polling them as often as desktops wastes calls.
IMAGE_POLL_FACTOR = 4
# An image AWS has not shown for this long after its create call is taken as never made.
IMAGE_MISSING_GRACE = timedelta(minutes=10)


class ImageRunner(JobRunner):
    """Making one WorkSpaces image an item; each kind says which call makes it and what its row records."""

    polls = True
    poll_factor = IMAGE_POLL_FACTOR
    action: ClassVar[str] = ""

    def make(self, access: AccountAccess, params: dict) -> ImageMade:
        raise NotImplementedError

    def row(self, params: dict) -> dict:
        """What the new Image row records beyond AWS's answer (where it came from)."""
        return {}

    def _account(self) -> AwsAccount:
        return AwsAccount.objects.select_related("customer").get(account_id=self.job.params["aws_account_id"])

    def _event(
        self,
        item: JobItem,
        outcome: str,
        target: str,
        *,
        details: dict | None = None,
        **fields: Unpack[AuditResult],
    ) -> AuditEvent:
        return audit_event_for_job(
            self.job,
            action=self.action,
            outcome=outcome,
            aws_account_id=self.job.params["aws_account_id"],
            region=item.params["region"],
            target_type="image",
            target_id=target,
            details=details,
            **fields,
        )

    def run(self, items: list[JobItem]) -> None:
        account = self._account()
        for item in items:
            self._run_item(account, item)

    def _run_item(self, account: AwsAccount, item: JobItem) -> None:
        params = item.params
        access = account_access(account, region=params["region"], job_id=self.job.pk)
        try:
            if item.submitted_at is not None and self._adopted(account, access, item):
                return
            items_mark_submitted([item])
            made = self.make(access, params)
        except AwsError as error:
            event = self._event(
                item,
                AuditOutcome.FAILED,
                params["name"],
                aws_request_id=error.request_id,
                error_code=error.code,
                error_message=error.message,
            )
            self.retry_or_fail([item], error, account_id=account.account_id, audit=[event])
            return
        failpoint("image.after_create_call")
        event = self._event(
            item,
            AuditOutcome.SUCCEEDED,
            made.image_id,
            aws_request_id=made.request_id,
            details={"name": params["name"]},
        )
        item.aws_request_id = made.request_id
        self._record_made(account, item, made.image_id, ImageState.PENDING, event)

    def _adopted(self, account: AwsAccount, access: AccountAccess, item: JobItem) -> bool:
        """An earlier delivery sent the create and never recorded the answer: look before making again."""
        name = item.params["name"]
        found = workspace_image_find(access, name=name)
        if found is None:
            return False
        if not is_partner_managed(resource_tags(access, found.image_id)):
            message = (
                f"An image named {name!r} exists ({found.image_id}) but is not tagged "
                f"{PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}: it is not ours, so it was not adopted."
            )
            event = self._event(
                item, AuditOutcome.FAILED, name, error_code="ImageNameTaken", error_message=message
            )
            self.fail([item], "ImageNameTaken", message, audit=[event])
            return True
        event = self._event(
            item, AuditOutcome.SUCCEEDED, found.image_id, details={"adopted": True, "name": name}
        )
        self._record_made(account, item, found.image_id, found.state, event)
        return True

    def _record_made(
        self, account: AwsAccount, item: JobItem, image_id: str, state: str, event: AuditEvent
    ) -> None:
        """Write the image id the moment we know it; the item then waits for the image to settle."""
        params = item.params
        item.aws_resource_id = image_id
        with transaction.atomic():
            Image.objects.get_or_create(
                image_id=image_id,
                defaults={
                    "aws_account": account,
                    "region": params["region"],
                    "name": params["name"],
                    "description": params["description"],
                    "state": state or ImageState.PENDING,
                    "tags": partner_tags(),
                    "owner_account_id": account.account_id,
                    "last_synced_at": timezone.now(),
                    **self.row(params),
                },
            )
            self.wait([item], audit=[event])

    def poll(self, items: list[JobItem]) -> None:
        """Describe the pending images (25 ids a call per region) and settle those AWS has settled."""
        account = self._account()
        by_region: dict[str, list[JobItem]] = {}
        for item in items:
            by_region.setdefault(item.params["region"], []).append(item)
        for region, group in by_region.items():
            access = account_access(account, region=region, job_id=self.job.pk)
            try:
                described = workspace_images_describe(access, [i.aws_resource_id for i in group])
            except AwsError as error:
                self.poll_failed(group, error, account_id=account.account_id)
                continue
            self._settle(group, {image.image_id: image for image in described})

    def _settle(self, items: list[JobItem], reported: dict) -> None:
        """Copy what AWS reports onto the Image rows; items whose image settled are finished."""
        now = timezone.now()
        for item in items:
            image = reported.get(item.aws_resource_id)
            if image is None:
                if item.submitted_at and now - item.submitted_at > IMAGE_MISSING_GRACE:
                    self.fail(
                        [item], "ImageNotFound", f"AWS no longer reports the image {item.aws_resource_id}."
                    )
                continue  # AWS's describe can lag a create by a few seconds
            fields = image_fields(image, now)
            with transaction.atomic():
                Image.objects.filter(image_id=image.image_id).update(**fields, updated_at=now)
                if image.state == ImageState.AVAILABLE:
                    self.succeed([item])
                elif image.state == ImageState.ERROR:
                    self.fail(
                        [item],
                        fields["error_code"] or "ImageError",
                        fields["error_message"] or "The image went to ERROR.",
                    )


class ImageImportRunner(ImageRunner):
    """ImportWorkspaceImage of a customer AMI (BYOP)."""

    kinds = (JobKind.IMAGE_IMPORT,)
    action = "ImportWorkspaceImage"

    def make(self, access: AccountAccess, params: dict) -> ImageMade:
        return workspace_image_import(
            access,
            ami_id=params["ami_id"],
            ingestion_process=params["ingestion_process"],
            name=params["name"],
            description=params["description"],
        )

    def row(self, params: dict) -> dict:
        return {"source_ami_id": params["ami_id"], "ingestion_process": params["ingestion_process"]}


class ImageCreateRunner(ImageRunner):
    """CreateWorkspaceImage of one of our desktops (the golden-image step)."""

    kinds = (JobKind.IMAGE_CREATE,)
    action = "CreateWorkspaceImage"

    def make(self, access: AccountAccess, params: dict) -> ImageMade:
        return workspace_image_create(
            access,
            workspace_id=params["workspace_id"],
            name=params["name"],
            description=params["description"],
        )


class ImageCopyRunner(ImageRunner):
    """CopyWorkspaceImage into one target region an item (the call is made in the target region)."""

    kinds = (JobKind.IMAGE_COPY,)
    action = "CopyWorkspaceImage"

    def make(self, access: AccountAccess, params: dict) -> ImageMade:
        return workspace_image_copy(
            access,
            source_image_id=params["source_image_id"],
            source_region=params["source_region"],
            name=params["name"],
            description=params["description"],
        )

    def row(self, params: dict) -> dict:
        source = Image.objects.filter(image_id=params["source_image_id"]).first()
        if source is None:
            return {}
        return {
            "source_image": source,
            "ingestion_process": source.ingestion_process,
            "required_tenancy": source.required_tenancy,
            "operating_system_type": source.operating_system_type,
        }


IMAGE_RUNNERS: dict[str, type[ImageRunner]] = {
    runner.kinds[0]: runner for runner in (ImageImportRunner, ImageCreateRunner, ImageCopyRunner)
}
