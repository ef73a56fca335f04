"""Jobs: list, retrieve with progress and per-item outcomes, cancel what has not reached AWS."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from orchestration.choices import JobKind
from orchestration.models import Job
from orchestration.selectors import job_get, job_list, job_progress_many
from orchestration.services.desktop_actions import ACTIONS
from orchestration.services.jobs import job_cancel
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_READ, ERRORS_WRITE_404
from partnerportal.api.views.base import ApiViewSet
from tenants.access import DESKTOP_ACTION_CAPABILITIES, Capability


def job_accepted(job: Job) -> Response:
    """202 with the new job, its progress counted from its items."""
    progress = job_progress_many(job_ids=[job.pk])
    body = s.JobSerializer(job, context={"progress": progress}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/jobs/{job.pk}"})


def cancel_capability(job: Job) -> Capability:
    """Cancelling needs what asking for the job needed."""
    if job.kind == JobKind.DESKTOP_CREATE:
        return Capability.PROVISION
    name = (job.params or {}).get("action", "")
    if name in ACTIONS:
        return DESKTOP_ACTION_CAPABILITIES[name]
    return Capability.CONFIGURE


class JobViewSet(ApiViewSet):
    serializer_class = s.JobSerializer
    query_serializer_class = s.JobListQuerySerializer

    def get_queryset(self):
        return job_list(principal=self.principal)

    @extend_schema(
        parameters=[s.JobListQuerySerializer], responses={200: s.JobSerializer(many=True), **ERRORS_READ}
    )
    def list(self, request):
        q = self.query()
        jobs = job_list(
            principal=self.principal,
            statuses=tuple(sorted(q.get("status", ()))),
            kinds=tuple(sorted(q.get("kind", ()))),
            customer_id=q.get("customer"),
        )
        page = self.paginator.paginate_queryset(jobs, request, view=self)
        progress = job_progress_many(job_ids=[job.pk for job in page])
        data = s.JobSerializer(page, many=True, context={"progress": progress}).data
        return self.paginator.get_paginated_response(data)

    @extend_schema(responses={200: s.JobDetailSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        job = self._job(pk)
        job = Job.objects.select_related("customer").prefetch_related("items").get(pk=job.pk)
        progress = job_progress_many(job_ids=[job.pk])
        return Response(s.JobDetailSerializer(job, context={"progress": progress}).data)

    @extend_schema(request=None, responses={200: s.JobCancelResultSerializer, **ERRORS_WRITE_404})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self._job(pk)
        if not self.principal.can(cancel_capability(job)):
            raise PermissionDenied("This token or account may not cancel this kind of job.")
        cancelled = job_cancel(actor=self.actor, job=job)
        job.refresh_from_db()
        progress = job_progress_many(job_ids=[job.pk])
        return Response(
            {"cancelled_items": cancelled, "job": s.JobSerializer(job, context={"progress": progress}).data}
        )

    def _job(self, pk) -> Job:
        if not str(pk).isdigit():
            raise NotFound()
        return job_get(principal=self.principal, pk=int(pk))
