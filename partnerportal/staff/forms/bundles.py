"""Staff forms for bundles: create one from an image, move bundles to a new image."""

from django import forms

from tenants.choices import ComputeType, ImageState
from tenants.models import AwsAccount, Image


def _available_images():
    return Image.objects.filter(state=ImageState.AVAILABLE).select_related("aws_account")


class BundleCreateForm(forms.Form):
    """A bundle from one of our AVAILABLE images; the service checks the combination before AWS sees it."""

    aws_account = forms.ModelChoiceField(queryset=AwsAccount.objects.select_related("customer"))
    region = forms.CharField(max_length=30, initial="us-east-1")
    name = forms.CharField(max_length=64, help_text="Letters, digits and _ . / ( ) \\ - ; no spaces.")
    description = forms.CharField(max_length=255)
    image = forms.ModelChoiceField(queryset=_available_images())
    compute_type = forms.ChoiceField(choices=ComputeType.choices, initial=ComputeType.STANDARD)
    root_volume_gib = forms.IntegerField(
        initial=80, help_text="Root 80 with user 10, 50 or 100; or root 175-2000 with user 100-2000."
    )
    user_volume_gib = forms.IntegerField(initial=50)


class UpdateImageForm(forms.Form):
    image = forms.ModelChoiceField(
        queryset=_available_images(), help_text="New desktops of the bundle start from this image."
    )
