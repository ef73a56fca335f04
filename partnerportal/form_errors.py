"""A service's refusal shown on a form, the same way on every face (staff console and customer pages)."""

from django import forms

from orchestration.services.errors import RequestInvalid


def add_service_errors(form: forms.BaseForm, invalid: RequestInvalid) -> None:
    """A service's refusal (`errors` per field) on the form: each message on its field, else on the form."""
    for field, problems in invalid.errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
