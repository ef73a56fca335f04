"""The staff form that issues an API token (for a customer, or for a staff member)."""

from django import forms
from django.contrib.auth import get_user_model

from tenants.choices import TokenScope
from tenants.models import Customer
from tenants.models.activity import default_token_scopes


class ApiTokenIssueForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.filter(is_active=True), required=False)
    staff_user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True),
        required=False,
        help_text="Instead of a customer: a token acting as this staff member, capped by their roles.",
    )
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices, initial=default_token_scopes, widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(required=False, help_text="Optional; YYYY-MM-DD HH:MM (UTC).")
