"""Forms for the parameters of desktop actions (modify properties, migrate); they only shape params.

Everything they take is checked again by `desktop_action_bulk`, which is the one judge of a request.
"""

from django import forms
from django.db.models import QuerySet

from tenants.choices import ComputeType, ImageState, RunningMode
from tenants.models import Bundle


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
