"""Staff forms for images: where to look for AMIs, import one, image a desktop, copy and share."""

from typing import cast

from django import forms
from django.db.models import QuerySet

from tenants.choices import IngestionProcess
from tenants.models import AwsAccount, Desktop

BYOP_CHOICES = [
    (IngestionProcess.BYOL_REGULAR_BYOP, "BYOL_REGULAR_BYOP (non-GPU bundles)"),
    (IngestionProcess.BYOL_GRAPHICS_G4DN_BYOP, "BYOL_GRAPHICS_G4DN_BYOP (Graphics.g4dn bundles)"),
]


class AmiSourceForm(forms.Form):
    """Where to look for AMIs: one customer account and one of its regions."""

    aws_account = forms.ModelChoiceField(
        queryset=AwsAccount.objects.select_related("customer"), label="AWS account"
    )
    region = forms.CharField(required=False, help_text="Empty: the account's default region.")

    def clean(self) -> dict:
        data = super().clean() or {}
        account = data.get("aws_account")
        if account is not None:
            data["region"] = data.get("region") or account.default_region
            if data["region"] not in account.regions:
                self.add_error("region", f"Not one of the account's regions ({', '.join(account.regions)}).")
        return data


class ImageImportForm(forms.Form):
    """The AMI chosen in the table, and what the WorkSpaces image is called."""

    ami_id = forms.CharField(
        label="AMI", error_messages={"required": "Choose an importable AMI in the table."}
    )
    name = forms.CharField(max_length=200, help_text="Letters, digits and _ . / ( ) \\ - only; at most 64.")
    description = forms.CharField(max_length=500, required=False)
    ingestion_process = forms.ChoiceField(choices=BYOP_CHOICES, initial=IngestionProcess.BYOL_REGULAR_BYOP)


class ImageFromDesktopForm(forms.Form):
    """Image one of our desktops, chosen by its WorkSpace id."""

    workspace_id = forms.CharField(label="WorkSpace id", help_text="The desktop to image (ws-...).")
    name = forms.CharField(max_length=200, help_text="Letters, digits and _ . / ( ) \\ - only; at most 64.")
    description = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, desktops: QuerySet[Desktop] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The desktops this user may image (a staff user limited to some customers: theirs only).
        self.desktops = Desktop.objects.all() if desktops is None else desktops

    def clean_workspace_id(self) -> Desktop:
        workspace_id = self.cleaned_data["workspace_id"].strip()
        desktop = (
            self.desktops.select_related("aws_account__customer").filter(workspace_id=workspace_id).first()
        )
        if desktop is None:
            raise forms.ValidationError(f"No desktop {workspace_id} is known.")
        return desktop


class ImageCopyForm(forms.Form):
    regions = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="One copy per region.")
    name = forms.CharField(max_length=200, required=False, help_text="Empty: each image's own name.")
    description = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, regions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["regions"]).choices = [(r, r) for r in regions]


class ImageShareForm(forms.Form):
    account_id = forms.CharField(label="AWS account id", help_text="12 digits.")
    allow = forms.TypedChoiceField(
        label="Permission",
        choices=[("1", "Share (allow copying)"), ("0", "Stop sharing")],
        coerce=lambda value: value == "1",
        initial="1",
    )
