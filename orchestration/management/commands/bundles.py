"""`manage.py bundles`: list, create, update-image and delete WorkSpaces bundles (R7, R11)."""

from django.core.management.base import BaseCommand, CommandError

from orchestration.actors import Actor
from orchestration.aws.errors import AwsError
from orchestration.management.command_helpers import account_get, add_account_arguments, refused
from orchestration.services.bundles import (
    BundleCreateRequest,
    BundleInvalid,
    bundle_create,
    bundle_delete,
    bundle_sync,
    bundle_update_image,
)
from tenants.models import AwsAccount, Bundle, Image

ACTOR = Actor.system("manage.py bundles")


class Command(BaseCommand):
    help = (
        "WorkSpaces bundles of a customer account: list (refreshes our rows from AWS), create, "
        "update-image, delete. Everything is checked before any AWS call."
    )

    def add_arguments(self, parser) -> None:
        add_account_arguments(parser, region=True)
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Sync and list the account's bundles.")
        create = actions.add_parser("create", help="CreateWorkspaceBundle from one of our AVAILABLE images.")
        create.add_argument("--name", required=True)
        create.add_argument("--description", required=True)
        create.add_argument("--image", required=True, help="WorkSpaces image id, wsi-…")
        create.add_argument("--compute-type", default="STANDARD")
        create.add_argument("--root-gib", type=int, default=80)
        create.add_argument("--user-gib", type=int, default=50)
        update = actions.add_parser("update-image", help="Point a bundle at a new AVAILABLE image.")
        update.add_argument("--bundle", required=True)
        update.add_argument("--image", required=True)
        delete = actions.add_parser("delete", help="Delete a bundle (refused while live desktops use it).")
        delete.add_argument("--bundle", required=True)

    def handle(self, *args, **options) -> None:
        account = account_get(options["account"])
        region = options["region"] or account.default_region
        action = options["action"]
        try:
            if action == "list":
                self._list(account, region)
            elif action == "create":
                bundle = bundle_create(
                    actor=ACTOR,
                    request=BundleCreateRequest(
                        aws_account=account,
                        region=region,
                        name=options["name"],
                        description=options["description"],
                        image=self._image(account, options["image"]),
                        compute_type=options["compute_type"],
                        root_volume_gib=options["root_gib"],
                        user_volume_gib=options["user_gib"],
                    ),
                )
                self.stdout.write(f"Created {self._line(bundle)}")
            elif action == "update-image":
                bundle = bundle_update_image(
                    actor=ACTOR,
                    bundle=self._bundle(account, options["bundle"]),
                    image=self._image(account, options["image"]),
                )
                self.stdout.write(f"Updated {self._line(bundle)}")
            else:
                bundle = self._bundle(account, options["bundle"])
                bundle_delete(actor=ACTOR, bundle=bundle)
                self.stdout.write(f"Deleted {bundle.bundle_id}")
        except BundleInvalid as invalid:
            raise refused(invalid) from invalid
        except AwsError as error:
            raise CommandError(str(error)) from error

    @staticmethod
    def _image(account: AwsAccount, image_id: str) -> Image:
        image = Image.objects.filter(aws_account=account, image_id=image_id).first()
        if image is None:
            raise CommandError(f"No image {image_id} is recorded for this account.")
        return image

    @staticmethod
    def _bundle(account: AwsAccount, bundle_id: str) -> Bundle:
        bundle = Bundle.objects.filter(aws_account=account, bundle_id=bundle_id).first()
        if bundle is None:
            raise CommandError(f"No bundle {bundle_id} is recorded for this account.")
        return bundle

    @staticmethod
    def _line(bundle: Bundle) -> str:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(bundle.tags.items())) or "no tags"
        image = bundle.image.image_id if bundle.image else "-"
        return (
            f"{bundle.bundle_id}  {bundle.name}  {bundle.compute_type}  root {bundle.root_volume_gib} GiB  "
            f"user {bundle.user_volume_gib} GiB  image {image}  {bundle.state}  [{tags}]"
        )

    def _list(self, account: AwsAccount, region: str) -> None:
        report = bundle_sync(aws_account=account, region=region)
        self.stdout.write(f"Bundles of {account.account_id} in {region}:")
        for bundle in Bundle.objects.filter(aws_account=account, region=region).select_related("image"):
            missing = "  MISSING FROM AWS" if bundle.missing_from_aws_since else ""
            self.stdout.write(f"  {self._line(bundle)}{missing}")
        for entry in report["untracked"]:
            self.stdout.write(f"  {entry['bundle_id']}  {entry['name']}  not ours (no PartnerManaged tag)")
