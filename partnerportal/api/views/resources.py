"""The customers a client sees, their AWS accounts (read, verify), and the directories, images and bundles
in them (read, refresh from AWS)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from orchestration.services.bundles import bundle_sync
from orchestration.services.directories import directory_sync
from orchestration.services.images.sync import image_sync
from orchestration.services.onboarding import account_verify
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_AWS, ERRORS_READ
from partnerportal.api.views.base import ApiViewSet
from tenants.access import Capability
from tenants.models import AwsAccount, Bundle, Directory, Image

OWNER = "aws_account__customer_id"


class CustomerViewSet(ApiViewSet):
    """The customers this client sees (a customer token: its own)."""

    serializer_class = s.CustomerSerializer
    query_serializer_class = s.ListQuerySerializer

    def get_queryset(self):
        return self.principal.customers()

    @extend_schema(
        parameters=[s.ListQuerySerializer], responses={200: s.CustomerSerializer(many=True), **ERRORS_READ}
    )
    def list(self, request):
        q = self.query()
        customers = self.get_queryset()
        if q.get("customer"):
            customers = customers.filter(pk=q["customer"])
        return _page(self, customers.order_by("name", "pk"), ("name", "pk"))

    @extend_schema(responses={200: s.CustomerSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(s.CustomerSerializer(_get(self.get_queryset(), pk)).data)


class AwsAccountViewSet(ApiViewSet):
    serializer_class = s.AwsAccountSerializer
    query_serializer_class = s.ListQuerySerializer
    capabilities = {"verify": Capability.CONFIGURE}

    def get_queryset(self):
        return self.principal.scope(AwsAccount.objects.all())

    @extend_schema(
        parameters=[s.ListQuerySerializer], responses={200: s.AwsAccountSerializer(many=True), **ERRORS_READ}
    )
    def list(self, request):
        q = self.query()
        accounts = self.get_queryset()
        if q.get("customer"):
            accounts = accounts.filter(customer_id=q["customer"])
        return _page(self, accounts, ("account_id", "pk"))

    @extend_schema(responses={200: s.AwsAccountSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(s.AwsAccountSerializer(_get(self.get_queryset(), pk)).data)

    @extend_schema(request=None, responses={200: s.AccountVerificationSerializer, **ERRORS_AWS})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Check the account's role and permissions now (calls AWS; audited)."""
        verification = account_verify(actor=self.actor, aws_account=_get(self.get_queryset(), pk))
        return Response(s.AccountVerificationSerializer(verification).data)


class _SyncedViewSet(ApiViewSet):
    """A kind of AWS object we keep rows of: read them, or refresh one account and region from AWS."""

    model: type = Directory
    order: tuple[str, ...] = ("pk",)
    capabilities = {"refresh": Capability.CONFIGURE}
    query_serializer_class = s.ListQuerySerializer

    sync: staticmethod  # the service that reads AWS and updates our rows

    def get_queryset(self):
        return self.principal.scope(self.model.objects.select_related("aws_account"), OWNER)

    def list(self, request):
        q = self.query()
        rows = self.get_queryset()
        if q.get("customer"):
            rows = rows.filter(aws_account__customer_id=q["customer"])
        return _page(self, rows, self.order)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(_get(self.get_queryset(), pk)).data)

    @action(detail=False, methods=["post"])
    def refresh(self, request):
        """Read this kind's objects of one account and region from AWS now, and bring our rows up to date."""
        body = s.RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account_id, region = body.validated_data["aws_account"], body.validated_data["region"]
        account = self.principal.scope(AwsAccount.objects.all()).filter(account_id=account_id).first()
        if account is None:
            raise ValidationError({"aws_account": [f"No AWS account {account_id} is known to you."]})
        if region not in (account.regions or [account.default_region]):
            raise ValidationError({"region": [f"Account {account_id} is not managed in {region}."]})
        result = type(self).sync(aws_account=account, region=region)
        return Response({"aws_account": account_id, "region": region, "result": result})


def _documented(serializer):
    """The schema of a read + refresh resource."""
    return extend_schema_view(
        list=extend_schema(
            parameters=[s.ListQuerySerializer], responses={200: serializer(many=True), **ERRORS_READ}
        ),
        retrieve=extend_schema(responses={200: serializer, **ERRORS_READ}),
        refresh=extend_schema(
            request=s.RefreshSerializer, responses={200: s.RefreshResultSerializer, **ERRORS_AWS}
        ),
    )


@_documented(s.DirectorySerializer)
class DirectoryViewSet(_SyncedViewSet):
    model, serializer_class, order = Directory, s.DirectorySerializer, ("directory_id", "pk")
    sync = staticmethod(directory_sync)


@_documented(s.ImageSerializer)
class ImageViewSet(_SyncedViewSet):
    model, serializer_class, order = Image, s.ImageSerializer, ("-created_at", "-pk")
    sync = staticmethod(image_sync)


@_documented(s.BundleSerializer)
class BundleViewSet(_SyncedViewSet):
    model, serializer_class, order = Bundle, s.BundleSerializer, ("bundle_id", "pk")
    sync = staticmethod(bundle_sync)


def _page(view, queryset, ordering):
    view.paginator.ordering = ordering
    page = view.paginator.paginate_queryset(queryset, view.request, view=view)
    return view.paginator.get_paginated_response(view.get_serializer(page, many=True).data)


def _get(queryset, pk):
    if not str(pk).isdigit():
        raise NotFound()
    return queryset.get(pk=int(pk))
