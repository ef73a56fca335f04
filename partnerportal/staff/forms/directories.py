"""Staff forms for directories: register one, set a custom security group."""

from django import forms

from tenants.choices import Tenancy
from tenants.models import AwsAccount


class DirectoryRegisterForm(forms.Form):
    """Register one Directory Service directory with WorkSpaces; the service checks the rest."""

    aws_account = forms.ModelChoiceField(queryset=AwsAccount.objects.select_related("customer"))
    region = forms.CharField(max_length=30, initial="us-east-1")
    directory_id = forms.CharField(max_length=65, help_text="The Directory Service id, d-…")
    subnet_ids = forms.CharField(
        required=False,
        help_text="Two subnets in two Availability Zones, comma-separated; empty: the directory's own.",
    )
    tenancy = forms.ChoiceField(
        choices=[("", "By the rule (BYOL: DEDICATED, otherwise SHARED)"), *Tenancy.choices],
        required=False,
    )

    def subnet_list(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data.get("subnet_ids", "").split(",") if s.strip()]


class SecurityGroupForm(forms.Form):
    security_group_id = forms.CharField(
        max_length=30, help_text="sg-… in the directory's VPC, opening the ports of your protocol."
    )
