"""Staff forms for AWS account connections: the account itself (secrets write-only) and the BYOL choice."""

from django import forms

from partnerportal.staff.readable import regions_field
from tenants.choices import AuthMode
from tenants.models import AwsAccount


class AwsAccountAdminForm(forms.ModelForm):
    """Account connection form; the secret access key can be set or replaced, never shown back."""

    new_secret_access_key = forms.CharField(
        label="Secret access key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Access-key accounts only. Leave empty to keep the stored secret; it is never displayed.",
    )

    class Meta:
        model = AwsAccount
        fields = [
            "customer",
            "name",
            "account_id",
            "auth_mode",
            "role_arn",
            "access_key_id",
            "default_region",
            "regions",
            "byop_enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"] = regions_field(
            stored=self.instance.regions if self.instance.pk else [],
            required=True,
            label="Regions",
            help_text="The regions the partner manages WorkSpaces in for this account.",
        )

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        new_secret = cleaned.get("new_secret_access_key")
        has_stored_secret = bool(self.instance.pk and self.instance.has_secret_access_key)
        if cleaned.get("auth_mode") == AuthMode.ACCESS_KEYS and not new_secret and not has_stored_secret:
            self.add_error("new_secret_access_key", "Access-key accounts need the secret access key.")
        if new_secret:
            # Encrypt before model validation so the model's own checks see a complete account.
            self.instance.set_secret_access_key(new_secret)
        return cleaned


class ByolSetupForm(forms.Form):
    """The irreversible choice: the /16 from the offered list, typed a second time to confirm it."""

    cidr = forms.CharField(label="Management CIDR (/16)", max_length=18)
    confirmation = forms.CharField(
        label="Type the CIDR again",
        max_length=18,
        help_text="The management CIDR can never be changed once it is set.",
    )
