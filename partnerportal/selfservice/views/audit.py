"""The audit log: this tenant's events, filterable, exportable as CSV."""

import csv
from datetime import UTC, datetime, time

from django import forms
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from orchestration.choices import AuditOutcome
from orchestration.selectors import AuditFilters, audit_event_list
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.exports import csv_cell
from partnerportal.selfservice.forms import bootstrap_widgets
from partnerportal.selfservice.views.common import limited_page, page, page_number
from tenants.access import Capability

EXPORT_LIMIT = 100_000
AUDIT_CSV_COLUMNS = [
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "aws_account_id",
    "region",
    "aws_request_id",
    "error_code",
    "error_message",
    "job",
]


class AuditFilterForm(forms.Form):
    action = forms.CharField(label="Action", required=False, help_text="e.g. StopWorkspaces")
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any")] + AuditOutcome.choices)
    actor = forms.CharField(label="Who", required=False)
    target = forms.CharField(label="Target", required=False, help_text="A WorkSpace id, token key …")
    since = forms.DateField(
        label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)

    def filters(self) -> AuditFilters:
        data = self.cleaned_data if self.is_valid() else {}

        def moment(day, end: bool = False):
            if not day:
                return None
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)

        return AuditFilters(
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            actor=data.get("actor") or "",
            target_id=data.get("target") or "",
            since=moment(data.get("since")),
            until=moment(data.get("until"), end=True),
        )


@require_GET
@portal_view(Capability.AUDIT)
def audit_index(request: PortalRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    number = page_number(request)
    events, more = limited_page(audit_event_list(principal=request.principal, filters=form.filters()), number)
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "selfservice/audit.html",
        {"form": form, "events": events, "page": number, "has_next": more, "query": query.urlencode()},
    )


@require_GET
@portal_view(Capability.AUDIT)
def audit_csv(request: PortalRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = audit_event_list(principal=request.principal, filters=form.filters())[:EXPORT_LIMIT]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.customer.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(AUDIT_CSV_COLUMNS)
    for e in events.iterator(chunk_size=2000):
        writer.writerow(
            csv_cell(value)
            for value in (
                e.occurred_at.isoformat(),
                e.actor_label,
                e.action,
                e.target_type,
                e.target_id,
                e.outcome,
                e.aws_account_id,
                e.region,
                e.aws_request_id,
                e.error_code,
                e.error_message,
                e.job_id or "",
            )
        )
    return response
