"""Jobs: the list, and a job's page with a live progress bar and each item's outcome in words."""

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orchestration.choices import JOB_TERMINAL_STATUSES, JobItemStatus
from orchestration.models import Job
from orchestration.selectors import job_get, job_list, job_progress, job_progress_many
from partnerportal.item_outcomes import count_label, item_outcome
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.views.common import limited_page, not_found, page, page_number

ITEMS_SHOWN = 500


@require_GET
@portal_view()
def job_index(request: PortalRequest) -> HttpResponse:
    number = page_number(request)
    jobs, more = limited_page(job_list(principal=request.principal), number)
    progress = job_progress_many(job_ids=[job.pk for job in jobs])
    return page(
        request,
        "selfservice/job_list.html",
        {"jobs": [(job, progress[job.pk]) for job in jobs], "page": number, "has_next": more},
    )


def _job_or_404(request: PortalRequest, pk: int) -> Job:
    try:
        return job_get(principal=request.principal, pk=pk)
    except Job.DoesNotExist:
        raise not_found() from None


def _progress_context(job: Job) -> dict:
    """The progress bar, the per-state counts and each item's outcome: what the page refreshes every 2 s."""
    counts = dict(job.items.values_list("status").annotate(n=Count("id")).order_by())
    items = job.items.select_related("desktop").order_by("sequence")[:ITEMS_SHOWN]
    return {
        "job": job,
        "items": [(item, item_outcome(item)) for item in items],
        "items_shown": ITEMS_SHOWN,
        "progress": job_progress(job=job),
        "state_counts": [
            (count_label(status.label), counts.get(status.value, 0)) for status in JobItemStatus
        ],
        "finished": job.status in JOB_TERMINAL_STATUSES,
    }


@require_GET
@portal_view()
def job_detail(request: PortalRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    return page(request, "selfservice/job_detail.html", _progress_context(job))


@require_GET
@portal_view()
def job_progress_part(request: PortalRequest, pk: int) -> HttpResponse:
    """The progress bar and counts alone, which the job page asks for every 2 s until the job ends."""
    job = _job_or_404(request, pk)
    return render(request, "selfservice/partials/job_progress.html", _progress_context(job))
