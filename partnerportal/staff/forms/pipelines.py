"""The golden-image pipeline form, chained as the create-desktops form is: the customer, then only its
accounts, then the account's regions, then the golden desktop and target bundles of that account and
region. The page asks for the chain again when a choice changes (htmx); a posted choice outside the chain
is refused as invalid."""

from typing import cast

from django import forms
from django.core.exceptions import ValidationError

from partnerportal.staff.readable import compute_type_label, regions_field
from tenants.choices import UNDEFINED_USER
from tenants.models import DESKTOP_IS_LIVE, AwsAccount, Bundle, Customer, Desktop, GoldenImagePipeline

from .desktops import AccountChoiceField, BundleChoiceField, _chosen_pk


class GoldenDesktopChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        facts = [obj.state]
        if obj.user_name and obj.user_name != UNDEFINED_USER:
            facts.append(obj.user_name)
        if obj.compute_type:
            facts.append(compute_type_label(obj.compute_type))
        return f"{obj.workspace_id or obj.workspace_name} ({', '.join(facts)})"


class BundleMultipleChoiceField(forms.ModelMultipleChoiceField):
    label_from_instance = BundleChoiceField.label_from_instance


class GoldenImagePipelineForm(forms.ModelForm):
    CHAIN = ("customer", "aws_account", "region", "golden_desktop", "target_bundles")

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    aws_account = AccountChoiceField(
        label="AWS account", queryset=AwsAccount.objects.none(), empty_label="Choose an account"
    )
    region = forms.ChoiceField(help_text="Where the golden desktop is and the image is made.")
    golden_desktop = GoldenDesktopChoiceField(
        queryset=Desktop.objects.none(),
        empty_label="Choose the golden desktop",
        help_text="The desktop imaged on each run, in the pipeline's account and region.",
    )
    target_bundles = BundleMultipleChoiceField(
        queryset=Bundle.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Bundles moved to each new image (the account's, in the pipeline's region).",
    )

    class Meta:
        model = GoldenImagePipeline
        fields = [
            "customer",
            "aws_account",
            "region",
            "name",
            "golden_desktop",
            "schedule_cron",
            "copy_to_regions",
            "retention_count",
            "image_name_prefix",
            "enabled",
            "target_bundles",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["copy_to_regions"] = regions_field(
            stored=self.instance.copy_to_regions if self.instance.pk else [],
            required=False,
            label="Copy to regions",
            help_text="Each new image is copied to these regions too (none: it stays in the pipeline's region).",
        )
        self.narrow(Customer.objects.filter(is_active=True))

    def narrow(self, customers) -> None:
        """Each choice limited by the ones before it, from what was posted or (unbound) what is stored."""
        chosen = self.data if self.is_bound else self.initial
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["customer"].queryset = customers
        customer_pk = _chosen_pk(chosen.get("customer"))
        accounts = AwsAccount.objects.none()
        if customer_pk is not None:
            accounts = AwsAccount.objects.filter(customer_id=customer_pk, customer__in=customers)
        fields["aws_account"].queryset = accounts.select_related("customer")
        account_pk = _chosen_pk(chosen.get("aws_account"))
        account = accounts.filter(pk=account_pk).first() if account_pk is not None else None
        regions = list(account.regions) if account is not None else []
        cast(forms.ChoiceField, self.fields["region"]).choices = [("", "Choose a region")] + [
            (r, r) for r in regions
        ]
        region = chosen.get("region") if chosen.get("region") in regions else ""
        if account is not None and not region and len(regions) == 1:
            region = regions[0]  # one region to choose from: chosen already
            self.initial["region"] = region
        desktops, bundles = Desktop.objects.none(), Bundle.objects.none()
        if account is not None and region:
            desktops = Desktop.objects.filter(DESKTOP_IS_LIVE, aws_account=account, region=region)
            bundles = Bundle.objects.filter(aws_account=account, region=region, missing_from_aws_since=None)
        if account is None or not region:
            for name in ("golden_desktop", "target_bundles"):
                self.fields[name].help_text = "Offered once the account and the region are chosen."
        fields["golden_desktop"].queryset = desktops.order_by("workspace_id")
        fields["target_bundles"].queryset = bundles.order_by("name", "bundle_id")

    def chain_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CHAIN]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.CHAIN]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        # The bundles are saved after the row, past the model's clean(): check them here, as a form error.
        if cleaned.get("aws_account") is not None:
            self.instance.aws_account = cleaned["aws_account"]
        if cleaned.get("target_bundles") is not None and self.instance.aws_account_id:
            try:
                self.instance.clean_target_bundles(cleaned["target_bundles"])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned
