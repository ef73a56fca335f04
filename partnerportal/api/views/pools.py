"""Pools: list and read them with their counts; assign a desktop to a user and release it (the broker's
two calls)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from orchestration.selectors import job_progress_many
from orchestration.services.pools import (
    Assignment,
    PoolNotAssigned,
    pool_assign,
    pool_counts,
    pool_list,
    pool_release,
)
from partnerportal.api import pool_serializers as ps
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_READ, ERRORS_WRITE_404
from partnerportal.api.views.base import ApiViewSet
from tenants.access import Capability
from tenants.models import Pool

ASSIGN_EXAMPLE = OpenApiExample("a user", request_only=True, value={"user": "jdoe"})


class PoolViewSet(ApiViewSet):
    serializer_class = ps.PoolSerializer
    query_serializer_class = s.ListQuerySerializer
    # A broker's token (scope operate) hands desktops out and takes them back.
    capabilities = {"assign": Capability.POWER, "release": Capability.POWER}

    def get_queryset(self):
        return self.principal.scope(pool_list())

    @extend_schema(
        parameters=[s.ListQuerySerializer], responses={200: ps.PoolSerializer(many=True), **ERRORS_READ}
    )
    def list(self, request):
        q = self.query()
        pools = self.get_queryset()
        if q.get("customer"):
            pools = pools.filter(customer_id=q["customer"])
        self.paginator.ordering = ("name", "pk")
        page = self.paginator.paginate_queryset(pools, request, view=self)
        context = {"counts": {pool.pk: pool_counts(pool) for pool in page}}
        return self.paginator.get_paginated_response(ps.PoolSerializer(page, many=True, context=context).data)

    @extend_schema(responses={200: ps.PoolSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        pool = self._pool(pk)
        return Response(ps.PoolSerializer(pool, context={"counts": {pool.pk: pool_counts(pool)}}).data)

    @extend_schema(
        request=ps.AssignmentRequestSerializer,
        responses={
            200: OpenApiResponse(ps.AssignmentSerializer, description="The user's desktop, ready."),
            202: OpenApiResponse(
                ps.AssignmentSerializer,
                description="A desktop is being started or made for the user: the job and an estimate. Ask "
                "again (the same user gets the same desktop) until 200.",
            ),
            503: OpenApiResponse(
                ps.AssignmentSerializer,
                description="Nothing free and the pool is at its maximum: ask again after Retry-After.",
            ),
            **ERRORS_WRITE_404,
        },
        examples=[ASSIGN_EXAMPLE],
        summary="Give a user a desktop of the pool (theirs, a warm one, or one on its way)",
        operation_id="pools_assign",
    )
    @action(detail=True, methods=["post"], url_path="assignments")
    def assign(self, request, pk=None):
        body = ps.AssignmentRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pool = self._pool(pk)
        user = body.validated_data["user"]
        return _assignment_response(pool_assign(actor=self.actor, pool=pool, user_name=user), user)

    @extend_schema(
        request=None,
        responses={204: None, **ERRORS_WRITE_404},
        summary="Take a user's desktop back (a non-persistent pool rebuilds it before reuse)",
        operation_id="pools_release",
    )
    @action(detail=True, methods=["delete"], url_path=r"assignments/(?P<user>[^/]+)")
    def release(self, request, pk=None, user=None):
        pool = self._pool(pk)
        try:
            pool_release(actor=self.actor, pool=pool, user_name=str(user))
        except PoolNotAssigned as missing:
            raise NotFound(str(missing.errors["user"][0])) from missing
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _pool(self, pk) -> Pool:
        if not str(pk).isdigit():
            raise NotFound()
        return self.get_queryset().get(pk=int(pk))


def _assignment_response(answer: Assignment, user: str) -> Response:
    progress = job_progress_many(job_ids=[answer.job.pk]) if answer.job else {}
    body = {
        "status": answer.status,
        "reason": answer.reason,
        "user": user,
        "desktop": s.DesktopSerializer(answer.member.desktop).data if answer.member else None,
        "job": s.JobSerializer(answer.job, context={"progress": progress}).data if answer.job else None,
        "estimate_seconds": answer.estimate_seconds,
    }
    if answer.status == "assigned":
        return Response(body, status=status.HTTP_200_OK)
    if answer.status == "pending":
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Retry-After": "15"})
    return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})
