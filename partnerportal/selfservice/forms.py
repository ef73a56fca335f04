"""The portal's forms: labels and errors beside their fields; choices scoped to the customer."""

from typing import cast

from django import forms

from tenants.access import Principal
from tenants.choices import DesktopState, RunningMode
from tenants.models import Bundle, Directory
from tenants.selectors import DESKTOP_ORDERINGS

SORTS = [
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("user_name", "User A–Z"),
    ("-user_name", "User Z–A"),
    ("state", "State"),
    ("-state_changed_at", "Last state change"),
    ("workspace_id", "WorkSpace id"),
]
assert {sort.lstrip("-") for sort, _ in SORTS} <= set(DESKTOP_ORDERINGS)
CREATABLE_RUNNING_MODES = [
    (RunningMode.MANUAL, "MANUAL (billed while running)"),
    (RunningMode.ALWAYS_ON, "ALWAYS_ON"),
]


def customer_directories(principal: Principal):
    return principal.scope(Directory.objects.all(), "aws_account__customer_id").order_by(
        "name", "directory_id"
    )


def customer_bundles(principal: Principal):
    return principal.scope(Bundle.objects.all(), "aws_account__customer_id").order_by("name", "bundle_id")


def bootstrap_widgets(form: forms.Form) -> None:
    """Bootstrap's classes on every widget, and each help text tied to its field for screen readers."""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        elif isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            widget.attrs.setdefault("class", "form-check-input")
        else:
            widget.attrs.setdefault("class", "form-control")
        if field.help_text:
            widget.attrs["aria-describedby"] = f"id_{name}-help"


class DesktopFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, help_text="WorkSpace id, user or computer name")
    state = forms.ChoiceField(label="State", required=False)
    user = forms.CharField(label="User (exact)", required=False)
    bundle = forms.ChoiceField(label="Bundle", required=False)
    directory = forms.ChoiceField(label="Directory", required=False)
    running_mode = forms.ChoiceField(
        label="Running mode", required=False, choices=[("", "Any")] + RunningMode.choices
    )
    sort = forms.ChoiceField(label="Sort", required=False, choices=SORTS)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["state"].choices = [("", "Any live state")] + DesktopState.choices
        fields["bundle"].choices = [("", "Any")] + [
            (b.bundle_id, f"{b.name} ({b.bundle_id})") for b in customer_bundles(principal)
        ]
        fields["directory"].choices = [("", "Any")] + [
            (d.directory_id, f"{d.name or d.directory_id} ({d.directory_id})")
            for d in customer_directories(principal)
        ]


class DirectoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name or obj.directory_id} ({obj.directory_id})"


class BundleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.bundle_id}, {obj.compute_type})"


class DesktopCreateForm(forms.Form):
    """Where and how the new desktops go, and for whom: listed users, a count, or a CSV of user names."""

    directory = DirectoryChoiceField(label="Directory", queryset=Directory.objects.none())
    bundle = BundleChoiceField(label="Bundle", queryset=Bundle.objects.none())
    running_mode = forms.ChoiceField(label="Running mode", choices=CREATABLE_RUNNING_MODES)
    user_names = forms.CharField(
        label="Directory user names",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One name a line. A line with a comma is refused: one line is one name.",
    )
    users_file = forms.FileField(
        label="Or a CSV file of user names",
        required=False,
        help_text="One user name a line (a first line 'user_name' is read as a header).",
    )
    count = forms.IntegerField(
        label="Or this many user-decoupled desktops", required=False, min_value=1, max_value=5000
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["directory"].queryset = customer_directories(principal)
        fields["bundle"].queryset = customer_bundles(principal)
        bootstrap_widgets(self)

    def clean(self):
        data = super().clean() or {}
        given = [
            bool((data.get("user_names") or "").strip()),
            bool(data.get("users_file")),
            bool(data.get("count")),
        ]
        if sum(given) != 1:
            raise forms.ValidationError("Give exactly one of: user names, a CSV file, or a count.")
        upload = data.get("users_file")
        if upload is not None:
            if upload.size > 1_000_000:
                self.add_error("users_file", "The file is larger than 1 MB; split it.")
            else:
                try:
                    data["users_text"] = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    self.add_error("users_file", "The file is not UTF-8 text.")
        else:
            data["users_text"] = data.get("user_names") or ""
        return data
