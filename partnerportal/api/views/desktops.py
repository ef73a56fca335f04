"""Desktops: list (filters, cursor pages), retrieve, create in bulk, and actions on one or a selection."""

from collections.abc import Sequence

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from orchestration.services.desktop_actions import desktop_action_bulk
from orchestration.services.desktops import DesktopCreateRequest, desktop_create_bulk
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_READ, ERRORS_WRITE, ERRORS_WRITE_404, JOB_EXAMPLE
from partnerportal.api.views.base import ApiViewSet
from partnerportal.api.views.jobs import job_accepted
from tenants.access import Capability
from tenants.models import AwsAccount, Bundle, Desktop, Directory
from tenants.selectors import DESKTOP_OWNER, DesktopFilters, desktop_get, desktop_list


class DesktopViewSet(ApiViewSet):
    serializer_class = s.DesktopSerializer
    query_serializer_class = s.DesktopListQuerySerializer
    capabilities = {"create": Capability.PROVISION}  # actions check their own, per action

    def get_queryset(self):
        return desktop_list(principal=self.principal)

    @extend_schema(
        parameters=[s.DesktopListQuerySerializer],
        responses={200: s.DesktopSerializer(many=True), **ERRORS_READ},
    )
    def list(self, request):
        q = self.query()
        filters = DesktopFilters(
            search=q.get("search", ""),
            states=tuple(sorted(q.get("state", ()))),
            user_name=q.get("user_name", ""),
            bundle_id=q.get("bundle_id", ""),
            directory_id=q.get("directory_id", ""),
            running_mode=q.get("running_mode", ""),
            customer_id=q.get("customer"),
            include_terminated=q["include_terminated"],
        )
        ordering = q["ordering"]
        direction = "-" if ordering.startswith("-") else ""
        paginator = self.paginator
        if ordering.lstrip("-") == "id":
            # The primary key's index serves the page: no sort of every desktop the client sees.
            desktops = desktop_list(principal=self.principal, filters=filters).order_by(ordering)
            paginator.ordering = (ordering,)
        else:
            desktops = desktop_list(principal=self.principal, filters=filters, ordering=ordering)
            paginator.ordering = (ordering, f"{direction}pk")
        page = paginator.paginate_queryset(desktops, request, view=self)
        return paginator.get_paginated_response(s.DesktopSerializer(page, many=True).data)

    @extend_schema(responses={200: s.DesktopSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(s.DesktopSerializer(self._desktop(pk)).data)

    @extend_schema(
        request=s.DesktopCreateSerializer,
        responses={202: OpenApiResponse(s.JobSerializer, description="The create job."), **ERRORS_WRITE},
        examples=[
            OpenApiExample(
                "named users",
                request_only=True,
                value={
                    "aws_account": "123456789012",
                    "directory_id": "d-1234567890",
                    "bundle_id": "wsb-abcdefghi",
                    "user_names": ["ann", "bob"],
                    "running_mode": "MANUAL",
                },
            ),
            OpenApiExample(
                "user-decoupled",
                request_only=True,
                value={
                    "aws_account": "123456789012",
                    "directory_id": "d-1234567890",
                    "bundle_id": "wsb-abcdefghi",
                    "count": 50,
                },
            ),
            JOB_EXAMPLE,
        ],
        summary="Create desktops in bulk (a job)",
    )
    def create(self, request):
        body = s.DesktopCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        account = (
            self.principal.scope(AwsAccount.objects.select_related("customer"))
            .filter(account_id=data["aws_account"])
            .first()
        )
        if account is None:
            raise ValidationError({"aws_account": [f"No AWS account {data['aws_account']} is known to you."]})
        directory = Directory.objects.filter(aws_account=account, directory_id=data["directory_id"]).first()
        bundle = Bundle.objects.filter(aws_account=account, bundle_id=data["bundle_id"]).first()
        errors = {}
        if directory is None:
            errors["directory_id"] = [f"No directory {data['directory_id']} in account {account.account_id}."]
        if bundle is None:
            errors["bundle_id"] = [f"No bundle {data['bundle_id']} in account {account.account_id}."]
        if errors:
            raise ValidationError(errors)
        assert directory is not None and bundle is not None
        job = desktop_create_bulk(
            actor=self.actor,
            request=DesktopCreateRequest(
                customer=account.customer,
                aws_account=account,
                directory=directory,
                bundle=bundle,
                running_mode=data["running_mode"],
                user_names=data["user_names"],
                count=data["count"],
                compute_type=data.get("compute_type", ""),
                root_volume_gib=data.get("root_volume_gib"),
                user_volume_gib=data.get("user_volume_gib"),
            ),
        )
        return job_accepted(job)

    @extend_schema(
        request=s.DesktopActionSerializer,
        responses={
            202: OpenApiResponse(s.JobSerializer, description="The action's job."),
            **ERRORS_WRITE_404,
        },
        summary="Start, stop, reboot, rebuild, restore, modify or terminate one desktop (a job)",
        operation_id="desktops_act",
    )
    @action(detail=True, methods=["post"], url_path="actions")
    def act(self, request, pk=None):
        body = s.DesktopActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        desktop = self._desktop(pk)
        return self._run(body.validated_data, [desktop])

    @extend_schema(
        request=s.DesktopSelectionActionSerializer,
        responses={202: OpenApiResponse(s.JobSerializer, description="The action's job."), **ERRORS_WRITE},
        examples=[
            OpenApiExample(
                "stop three", request_only=True, value={"action": "stop", "desktop_ids": [41, 42, 43]}
            ),
            JOB_EXAMPLE,
        ],
        summary="An action on a selection of desktops of one customer (a job)",
        operation_id="desktops_act_on_selection",
    )
    @action(detail=False, methods=["post"], url_path="actions")
    def act_on_selection(self, request):
        body = s.DesktopSelectionActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(body.validated_data["desktop_ids"]))
        found = list(
            self.principal.scope(
                Desktop.objects.select_related("aws_account__customer"), DESKTOP_OWNER
            ).filter(pk__in=wanted)
        )
        missing = sorted(set(wanted) - {d.pk for d in found})
        if missing:
            raise ValidationError({"desktop_ids": [f"Not found: {', '.join(map(str, missing[:20]))}."]})
        if len({d.aws_account.customer_id for d in found}) > 1:
            raise ValidationError({"desktop_ids": ["One request acts on desktops of one customer."]})
        return self._run(body.validated_data, found)

    def _run(self, data: dict, desktops: Sequence[Desktop]) -> Response:
        name = data["action"]
        if not self.principal.can_do(name):
            raise PermissionDenied(f"This token or account may not {name} desktops.")
        params = dict(data.get("params") or {}) if name == "modify" else {}
        job = desktop_action_bulk(
            actor=self.actor,
            customer=desktops[0].aws_account.customer,
            desktops=desktops,
            action=name,
            params=params,
        )
        return job_accepted(job)

    def _desktop(self, pk):
        if not str(pk).isdigit():
            raise NotFound()
        return desktop_get(principal=self.principal, pk=int(pk))
