"""Staff forms for desktops: bulk creation, and the parameters of the modify and migrate actions.

They only shape a request; `desktop_create_bulk` and `desktop_action_bulk` are the judges of it.
"""

from django import forms
from django.db.models import QuerySet

from orchestration.names import parse_user_names
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB, DesktopCreateRequest
from tenants.choices import ComputeType, ImageState, RunningMode
from tenants.models import AwsAccount, Bundle, Directory


class DesktopCreateForm(forms.Form):
    """Create desktops for one customer account: list directory users, or ask for N user-decoupled ones."""

    aws_account = forms.ModelChoiceField(queryset=AwsAccount.objects.select_related("customer"))
    directory = forms.ModelChoiceField(queryset=Directory.objects.all())
    bundle = forms.ModelChoiceField(queryset=Bundle.objects.all())
    running_mode = forms.ChoiceField(
        choices=[
            (RunningMode.MANUAL, "MANUAL (billed only while running)"),
            (RunningMode.ALWAYS_ON, "ALWAYS_ON"),
        ],
        initial=RunningMode.MANUAL,
        help_text="AUTO_STOP is not available for WorkSpaces Core.",
    )
    user_names = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text="Directory user names, one per line or comma-separated.",
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DESKTOPS_PER_JOB,
        help_text="Or: this many user-decoupled desktops ([UNDEFINED]).",
    )
    compute_type = forms.ChoiceField(choices=[("", "As the bundle")] + ComputeType.choices, required=False)
    root_volume_gib = forms.IntegerField(required=False, min_value=1)
    user_volume_gib = forms.IntegerField(required=False, min_value=1)

    def to_request(self) -> DesktopCreateRequest:
        data = self.cleaned_data
        account: AwsAccount = data["aws_account"]
        return DesktopCreateRequest(
            customer=account.customer,
            aws_account=account,
            directory=data["directory"],
            bundle=data["bundle"],
            running_mode=data["running_mode"],
            user_names=parse_user_names(data.get("user_names") or ""),
            count=data.get("count") or 0,
            compute_type=data.get("compute_type") or "",
            root_volume_gib=data.get("root_volume_gib"),
            user_volume_gib=data.get("user_volume_gib"),
        )


class DesktopModifyForm(forms.Form):
    """ModifyWorkspaceProperties for a selection: only the fields filled in are changed."""

    compute_type = forms.ChoiceField(choices=[("", "Unchanged")] + ComputeType.choices, required=False)
    root_volume_gib = forms.IntegerField(
        required=False, min_value=1, help_text="GiB; volumes can only grow.", label="Root volume (GiB)"
    )
    user_volume_gib = forms.IntegerField(
        required=False, min_value=1, help_text="GiB; volumes can only grow.", label="User volume (GiB)"
    )
    running_mode = forms.ChoiceField(
        choices=[
            ("", "Unchanged"),
            (RunningMode.MANUAL, "MANUAL (billed only while running)"),
            (RunningMode.ALWAYS_ON, "ALWAYS_ON"),
        ],
        required=False,
        help_text="AUTO_STOP is not available for WorkSpaces Core.",
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if not any(data.get(name) not in (None, "") for name in self.fields):
            raise forms.ValidationError(
                "Say what to change: compute type, a volume size or the running mode."
            )
        return data

    def to_params(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class DesktopMigrateForm(forms.Form):
    """MigrateWorkspace for a selection: the bundle the desktops move to."""

    bundle = forms.ModelChoiceField(queryset=Bundle.objects.none(), help_text="An AVAILABLE bundle.")

    def __init__(self, *args, bundles: QuerySet[Bundle], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["bundle"]
        assert isinstance(field, forms.ModelChoiceField)  # declared above; `fields` holds plain Fields
        field.queryset = bundles.filter(state=ImageState.AVAILABLE).select_related("aws_account")

    def to_params(self) -> dict:
        return {"bundle_id": self.cleaned_data["bundle"].bundle_id}
