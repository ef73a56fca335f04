"""`manage.py images`: the scriptable entry point to WorkSpaces images (list AMIs, import, create, copy,
share, delete, sync). Every change goes through the audited services; bad input changes nothing."""

import json

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.choices import JobItemStatus
from orchestration.management.command_helpers import (
    account_get,
    add_account_arguments,
    add_as_user_argument,
    add_wait_arguments,
    command_actor,
    job_progress_line,
    job_wait,
    refused,
)
from orchestration.models import Job
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
from tenants.choices import IngestionProcess
from tenants.models import AwsAccount, Desktop, Image

AMI_COLUMNS = (
    ("ImageId", "image_id"),
    ("Name", "name"),
    ("Description", "description"),
    ("PlatformDetails", "platform_details"),
    ("EnaSupport", "ena_support"),
    ("Hypervisor", "hypervisor"),
    ("VolumeType", "volume_type"),
    ("VolumeSize", "volume_size"),
    ("Encrypted", "encrypted"),
    ("OwnerId", "owner_id"),
)


class Command(BaseCommand):
    help = (
        "WorkSpaces images of a customer account: list importable AMIs, import one (BYOP), image a desktop, "
        "copy to regions, list/share/unshare, delete, sync from AWS. Checks run before any AWS change."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser, region=True)
        add_as_user_argument(parser)
        actions = parser.add_subparsers(dest="action", required=True)

        actions.add_parser("amis", help="List the account's AMIs and whether each can be imported.")

        imp = actions.add_parser("import", help="Import an AMI as a WorkSpaces image (BYOP).")
        imp.add_argument("--ami", required=True, help="AMI id (ami-...).")
        imp.add_argument("--name", required=True)
        imp.add_argument("--description", default="")
        imp.add_argument(
            "--ingestion-process",
            default=IngestionProcess.BYOL_REGULAR_BYOP,
            help="BYOL_REGULAR_BYOP (default) or BYOL_GRAPHICS_G4DN_BYOP.",
        )
        add_wait_arguments(imp, poll_seconds=5.0)

        create = actions.add_parser("create", help="Create an image from one of our AVAILABLE desktops.")
        create.add_argument("--workspace-id", required=True, help="The desktop's WorkSpace id (ws-...).")
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        add_wait_arguments(create, poll_seconds=5.0)

        copy = actions.add_parser("copy", help="Copy an image to other regions of the account.")
        copy.add_argument("--image", required=True, help="Image id (wsi-...).")
        copy.add_argument("--regions", required=True, help="Target regions, comma-separated.")
        copy.add_argument("--name", default="", help="Name of the copies (default: the image's name).")
        copy.add_argument("--description", default="")
        add_wait_arguments(copy, poll_seconds=5.0)

        permissions = actions.add_parser("permissions", help="List the accounts an image is shared with.")
        permissions.add_argument("--image", required=True)
        for name, text in (("share", "Share an image with an account."), ("unshare", "Stop sharing it.")):
            share = actions.add_parser(name, help=text)
            share.add_argument("--image", required=True)
            share.add_argument("--with", dest="with_account", required=True, help="12-digit account id.")

        delete = actions.add_parser("delete", help="Delete an image (refused while a bundle uses it).")
        delete.add_argument("--image", required=True)

        actions.add_parser("sync", help="Bring the image records up to date with AWS.")

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        region = options["region"] or account.default_region
        actor = command_actor(options["as_user"], command="images")
        action = options["action"]
        try:
            if action == "amis":
                self._amis(account, region)
            elif action == "permissions":
                shared = image_permission_list(image=self._image(account, options["image"]))
                self.stdout.write("\n".join(shared) if shared else "Not shared with any account.")
            elif action in ("share", "unshare"):
                image = self._image(account, options["image"])
                allow = action == "share"
                image_permission_update(
                    actor=actor, image=image, account_id=options["with_account"], allow=allow
                )
                verb = "Shared" if allow else "Stopped sharing"
                self.stdout.write(f"{verb} {image.image_id} with {options['with_account']}.")
            elif action == "delete":
                image = self._image(account, options["image"])
                image_delete(actor=actor, image=image)
                self.stdout.write(f"Deleted {image.image_id}.")
            elif action == "sync":
                self.stdout.write(json.dumps(image_sync(aws_account=account, region=region), indent=2))
            else:
                job = self._job(action, account, region, actor, options)
                self.stdout.write(f"Job {job.pk}: {job.get_kind_display()} ({job.total_items} item(s)).")
                if options["wait"]:
                    self._wait(job, options["poll_seconds"])
        except ImageInvalid as invalid:
            raise refused(invalid) from invalid
        except AwsError as error:
            raise CommandError(f"AWS refused: {error.code}: {error.message}") from error

    def _job(self, action: str, account: AwsAccount, region: str, actor: Actor, options) -> Job:
        if action == "import":
            return image_import(
                actor=actor,
                aws_account=account,
                region=region,
                ami_id=options["ami"],
                name=options["name"],
                description=options["description"],
                ingestion_process=options["ingestion_process"],
            )
        if action == "create":
            desktop = Desktop.objects.filter(
                aws_account=account, workspace_id=options["workspace_id"]
            ).first()
            if desktop is None:
                raise CommandError(
                    f"No desktop {options['workspace_id']} is known in account {account.account_id}."
                )
            return image_create_from_desktop(
                actor=actor, desktop=desktop, name=options["name"], description=options["description"]
            )
        regions = [r.strip() for r in options["regions"].split(",") if r.strip()]
        return image_copy(
            actor=actor,
            image=self._image(account, options["image"]),
            regions=regions,
            name=options["name"],
            description=options["description"],
        )

    def _amis(self, account: AwsAccount, region: str) -> None:
        amis = ami_list(aws_account=account, region=region)
        if not amis:
            self.stdout.write(f"Account {account.account_id} has no available HVM machine AMIs in {region}.")
            return
        header = [title for title, _ in AMI_COLUMNS] + ["Importable"]
        rows = [
            [str(getattr(ami, attr)) for _, attr in AMI_COLUMNS] + ["yes" if ami.importable else "no"]
            for ami in amis
        ]
        widths = [max(len(line[n]) for line in [header, *rows]) for n in range(len(header))]
        for line in [header, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        for ami in amis:
            for problem in ami.problems:
                self.stdout.write(f"{ami.image_id}: {problem}")

    def _image(self, account: AwsAccount, image_id: str) -> Image:
        image = (
            Image.objects.select_related("aws_account__customer")
            .filter(aws_account=account, image_id=image_id)
            .first()
        )
        if image is None:
            raise CommandError(
                f"No image {image_id} is known in account {account.account_id}; try `sync` first."
            )
        return image

    def _wait(self, job: Job, poll_seconds: float) -> None:
        job_wait(job, poll_seconds=poll_seconds, report=lambda job: self.stdout.write(job_progress_line(job)))
        for item in job.items.all():
            where = item.params.get("region", "")
            if item.status == JobItemStatus.FAILED:
                self.stdout.write(f"  {where}: failed: {item.error_code} {item.error_message}")
            else:
                self.stdout.write(f"  {where}: {item.aws_resource_id} {item.status}")
