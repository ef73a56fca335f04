"""Forms for the entry points (admin today, self-service pages later); they call services, nothing lower."""

from django import forms

from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB, DesktopCreateRequest
from tenants.choices import ComputeType, RunningMode
from tenants.models import AwsAccount, Bundle, Directory


def parse_user_names(text: str) -> list[str]:
    """One name per line or comma-separated; blank entries dropped, order kept."""
    names = []
    for line in text.replace(",", "\n").splitlines():
        name = line.strip()
        if name:
            names.append(name)
    return names


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
