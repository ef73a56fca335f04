"""Home: the fleet at a glance."""

from datetime import UTC, datetime

from django.http import HttpResponse

from orchestration.selectors import job_progress_many, jobs_in_flight
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.usage import month_total_hours, previous_month, this_month
from partnerportal.selfservice.views.common import page
from tenants.selectors import desktop_state_counts, desktops_needing_attention

HOME_JOBS = 5
HOME_ATTENTION = 10


@portal_view()
def home(request: PortalRequest) -> HttpResponse:
    now = datetime.now(UTC)
    counts = desktop_state_counts(principal=request.principal, customer_id=request.customer.pk)
    jobs = list(jobs_in_flight(principal=request.principal)[:HOME_JOBS])
    progress = job_progress_many(job_ids=[job.pk for job in jobs])
    month, last_month = this_month(now), previous_month(now)
    return page(
        request,
        "selfservice/home.html",
        {
            "state_counts": sorted(counts.items()),
            "desktop_total": sum(counts.values()),
            "hours_this_month": month_total_hours(request.customer, month, now=now),
            "hours_last_month": month_total_hours(request.customer, last_month, now=now),
            "month": month,
            "last_month": last_month,
            "jobs": [(job, progress[job.pk]) for job in jobs],
            "attention": list(desktops_needing_attention(principal=request.principal)[:HOME_ATTENTION]),
        },
    )
