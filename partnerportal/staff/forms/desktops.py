"""Staff forms for desktops: bulk creation, and the parameters of the modify and migrate actions.

They only shape a request; `desktop_create_bulk` and `desktop_action_bulk` are the judges of it.
"""

from typing import cast

from django import forms
from django.db.models import QuerySet

from orchestration.names import parse_user_names
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB, DesktopCreateRequest
from partnerportal.staff.readable import COMPUTE_TYPE_CHOICES, compute_type_label
from tenants.choices import DirectoryState, ImageState, RunningMode
from tenants.models import AwsAccount, Bundle, Customer, Directory


def _chosen_pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.account_id} {obj.name}".strip()


class DirectoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name or obj.alias or obj.directory_id} ({obj.directory_id}, {obj.region}, {obj.tenancy.lower()})"


class BundleChoiceField(forms.ModelChoiceField):
    """Two bundles may share a name: the label adds the id, the compute type with its size and the disks."""

    def label_from_instance(self, obj) -> str:
        compute = compute_type_label(obj.compute_type)
        return f"{obj.name} ({obj.bundle_id}; {compute}; {obj.root_volume_gib} + {obj.user_volume_gib} GiB)"


class DesktopCreateForm(forms.Form):
    """Create desktops for one customer account: list directory users, or ask for N user-decoupled ones.

    The choices are chained: the customer's accounts, then the account's registered directories and
    available bundles (in the directory's region once one is chosen). The page asks again for the form
    when a choice changes (htmx), and a posted choice outside the chain is refused as invalid."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), empty_label="Choose a customer")
    aws_account = AccountChoiceField(
        label="AWS account", queryset=AwsAccount.objects.none(), empty_label="Choose an account"
    )
    directory = DirectoryChoiceField(queryset=Directory.objects.none(), empty_label="Choose a directory")
    bundle = BundleChoiceField(queryset=Bundle.objects.none(), empty_label="Choose a bundle")
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
        help_text="Or: this many desktops not assigned to a user yet (user-decoupled).",
    )
    compute_type = forms.ChoiceField(choices=[("", "As the bundle"), *COMPUTE_TYPE_CHOICES], required=False)
    root_volume_gib = forms.IntegerField(required=False, min_value=1, label="Root volume (GiB)")
    user_volume_gib = forms.IntegerField(required=False, min_value=1, label="User volume (GiB)")

    def __init__(self, *args, customers: QuerySet[Customer], **kwargs):
        super().__init__(*args, **kwargs)
        chosen = self.data if self.is_bound else self.initial
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["customer"].queryset = customers
        customer_pk = _chosen_pk(chosen.get("customer"))
        if customer_pk is None and len(only := list(customers[:2])) == 1:
            customer_pk = only[0].pk  # one customer to choose from: chosen already
            self.initial["customer"] = customer_pk
        accounts = AwsAccount.objects.none()
        if customer_pk is not None:
            accounts = AwsAccount.objects.filter(customer_id=customer_pk, customer__in=customers)
        fields["aws_account"].queryset = accounts.select_related("customer")
        account_pk = _chosen_pk(chosen.get("aws_account"))
        if account_pk is None and len(only_account := list(accounts[:2])) == 1:
            account_pk = only_account[0].pk
            self.initial["aws_account"] = account_pk
        directories, bundles = Directory.objects.none(), Bundle.objects.none()
        if account_pk is not None and accounts.filter(pk=account_pk).exists():
            directories = Directory.objects.filter(aws_account_id=account_pk)
            bundles = Bundle.objects.filter(aws_account_id=account_pk, state=ImageState.AVAILABLE)
        fields["directory"].queryset = directories.filter(state=DirectoryState.REGISTERED)
        directory_pk = _chosen_pk(chosen.get("directory"))
        directory = directories.filter(pk=directory_pk).first() if directory_pk is not None else None
        if directory is not None:
            bundles = bundles.filter(region=directory.region)
        fields["bundle"].queryset = bundles.order_by("name", "bundle_id")

    def clean(self) -> dict:
        data = super().clean() or {}
        account, customer = data.get("aws_account"), data.get("customer")
        if account is not None and customer is not None and account.customer_id != customer.pk:
            self.add_error("aws_account", "Choose one of this customer's accounts.")
        return data

    def to_request(self) -> DesktopCreateRequest:
        data = self.cleaned_data
        account: AwsAccount = data["aws_account"]
        return DesktopCreateRequest(
            customer=data["customer"],
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

    compute_type = forms.ChoiceField(choices=[("", "Unchanged"), *COMPUTE_TYPE_CHOICES], required=False)
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
