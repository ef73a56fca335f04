"""The onboarding wizard's forms, one per step that asks for something. They shape what is asked; the
models and the services judge it (nothing here calls AWS)."""

from typing import cast

from django import forms
from django.db.models import QuerySet
from django.utils.text import slugify

from partnerportal.staff.readable import COMPUTE_TYPE_CHOICES, region_choices, regions_field
from tenants.choices import ComputeType, ImageState, IngestionProcess
from tenants.models import AwsAccount, Customer, Image

from .images import BYOP_CHOICES


class CustomerStepForm(forms.Form):
    """An existing customer, or the name of a new one (its short name is made from it)."""

    existing = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        label="Existing customer",
        empty_label="None: a new customer",
    )
    new_name = forms.CharField(
        max_length=200, required=False, label="New customer's name", help_text="As the customer calls itself."
    )

    def __init__(self, *args, customers: QuerySet[Customer], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["existing"]).queryset = customers

    def clean(self) -> dict:
        data = super().clean() or {}
        existing, name = data.get("existing"), (data.get("new_name") or "").strip()
        if existing is None and not name:
            raise forms.ValidationError("Choose an existing customer or give the new customer's name.")
        if existing is not None and name:
            raise forms.ValidationError("Choose an existing customer or give a new name, not both.")
        if name and Customer.objects.filter(name__iexact=name).exists():
            self.add_error("new_name", f"A customer called {name} exists already: choose it in the list.")
        if name and not slugify(name):
            self.add_error("new_name", "The name needs at least one letter or digit.")
        data["new_name"] = name
        return data

    def customer(self) -> Customer:
        """The chosen customer, or the new one saved (its slug unique: -2, -3… when taken)."""
        if self.cleaned_data["existing"] is not None:
            return self.cleaned_data["existing"]
        name = self.cleaned_data["new_name"]
        base = slugify(name)[:50]
        slug, n = base, 1
        while Customer.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        return Customer.objects.create(name=name, slug=slug)


class AccountStepForm(forms.ModelForm):
    """The customer's AWS account id and regions; saved without a role ARN (it waits for the customer)."""

    default_region = forms.ChoiceField(
        label="Main region", help_text="Where the directory, the image and the first desktops are."
    )

    class Meta:
        model = AwsAccount
        fields = ["account_id", "name", "default_region", "regions", "byop_enabled"]
        labels = {
            "account_id": "AWS account id",
            "name": "Label",
            "byop_enabled": "BYOP enabled",
        }
        help_texts = {
            "account_id": "12 digits, from the customer.",
            "name": "Optional, e.g. Production.",
            "byop_enabled": "The customer's AWS account team enabled Bring Your Own Protocol (needed to import their own image).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["default_region"]).choices = region_choices([])
        self.fields["regions"] = regions_field(
            stored=[],
            required=False,
            label="Other regions",
            help_text="Other regions the partner manages WorkSpaces in (the main one is added).",
        )


class RoleStepForm(forms.ModelForm):
    """The RoleArn output of the stack the customer deployed."""

    class Meta:
        model = AwsAccount
        fields = ["role_arn"]
        labels = {"role_arn": "Role ARN"}
        help_texts = {"role_arn": "The stack's RoleArn output: arn:aws:iam::<account id>:role/…"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role_arn"].required = True
        self.fields["role_arn"].widget.attrs["size"] = 80


class DirectoryStepForm(forms.Form):
    """One of the Directory Service directories AWS lists as not registered yet."""

    directory_id = forms.ChoiceField(
        label="Directory",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the directory the desktops join."},
    )

    def __init__(self, *args, candidates: list, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["directory_id"]).choices = [
            (d.directory_id, f"{d.name} ({d.directory_id}, {d.directory_type}, VPC {d.vpc_id or '—'})")
            for d in candidates
        ]
        if len(candidates) == 1:
            self.initial["directory_id"] = candidates[0].directory_id


class ImageStepForm(forms.Form):
    """The AMI to import (a radio in the table of the account's AMIs) and the image's name."""

    ami_id = forms.CharField(
        label="AMI", error_messages={"required": "Choose an importable AMI in the table."}
    )
    name = forms.CharField(max_length=200, help_text="Letters, digits and _ . / ( ) \\ - only; at most 64.")
    ingestion_process = forms.ChoiceField(choices=BYOP_CHOICES, initial=IngestionProcess.BYOL_REGULAR_BYOP)


class ImageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.image_id}, {obj.region})"


class BundleStepForm(forms.Form):
    """A bundle from one of the account's AVAILABLE images: compute and disks."""

    image = ImageChoiceField(queryset=Image.objects.none(), empty_label=None)
    name = forms.CharField(max_length=64, help_text="Letters, digits and _ . / ( ) \\ - ; no spaces.")
    description = forms.CharField(max_length=255)
    compute_type = forms.ChoiceField(choices=COMPUTE_TYPE_CHOICES, initial=ComputeType.STANDARD)
    root_volume_gib = forms.IntegerField(
        label="Root volume (GiB)",
        initial=80,
        help_text="Root 80 with user 10, 50 or 100; or root 175-2000 with user 100-2000.",
    )
    user_volume_gib = forms.IntegerField(label="User volume (GiB)", initial=50)

    def __init__(self, *args, aws_account: AwsAccount, **kwargs):
        super().__init__(*args, **kwargs)
        images = Image.objects.filter(aws_account=aws_account, state=ImageState.AVAILABLE).order_by("name")
        cast(forms.ModelChoiceField, self.fields["image"]).queryset = images
