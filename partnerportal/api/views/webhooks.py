"""Webhooks: endpoints (register, list, change, remove, new secret) and their deliveries (list, send again).

Reading needs VIEW; registering, changing and re-sending need CONFIGURE. A customer token registers for
its own tenant; a staff token names the customer, or none for the partner's own endpoint (every
customer's events). docs/webhooks.md has the events, the body and the signature check.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from orchestration.choices import WebhookDeliveryStatus, WebhookEventType
from orchestration.models import WebhookDelivery, WebhookEndpoint
from orchestration.services.webhooks import (
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
)
from partnerportal.api.schema import ERRORS_READ, ERRORS_WRITE, ERRORS_WRITE_404
from partnerportal.api.serializers import StrictSerializer
from partnerportal.api.views.base import ApiViewSet
from tenants.access import Capability

WRITE = Capability.CONFIGURE
ID_LIMIT = 2**53


class WebhookEndpointSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", allow_null=True, read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "customer", "url", "events", "description", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown in this answer only, never again.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text="HTTPS, on the public internet.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), min_length=1, max_length=10
    )
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    customer = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=ID_LIMIT,
        help_text="Staff tokens: the customer, or null for the partner's own endpoint. Customer tokens: omit.",
    )


class WebhookEndpointChangeSerializer(StrictSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        min_length=1,
        max_length=10,
        required=False,
    )
    is_active = serializers.BooleanField(required=False, help_text="false pauses deliveries; they wait.")


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown once; the old one stops working.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


class WebhookDeliveryQuerySerializer(StrictSerializer):
    endpoint = serializers.IntegerField(required=False, min_value=1, max_value=ID_LIMIT)
    status = serializers.ChoiceField(choices=WebhookDeliveryStatus.choices, required=False)
    cursor = serializers.CharField(required=False)


class EndpointListQuerySerializer(StrictSerializer):
    cursor = serializers.CharField(required=False)


def _pk(value) -> int:
    if not str(value).isdigit() or int(value) > ID_LIMIT:
        raise NotFound()
    return int(value)


class WebhookEndpointViewSet(ApiViewSet):
    serializer_class = WebhookEndpointSerializer
    query_serializer_class = EndpointListQuerySerializer
    capabilities = {"create": WRITE, "partial_update": WRITE, "destroy": WRITE, "rotate_secret": WRITE}

    def get_queryset(self):
        return self.principal.scope(WebhookEndpoint.objects.all())

    @extend_schema(responses={200: WebhookEndpointSerializer(many=True), **ERRORS_READ})
    def list(self, request):
        self.query()
        self.paginator.ordering = ("-created_at", "-id")
        page = self.paginator.paginate_queryset(self.get_queryset(), request, view=self)
        return self.paginator.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(responses={200: WebhookEndpointSerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSerializer(self._endpoint(pk)).data)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **ERRORS_WRITE},
        examples=[
            OpenApiExample(
                "Job results to the partner's CI",
                request_only=True,
                value={"url": "https://ci.example.com/hooks/workspaces", "events": ["job.finished"]},
            )
        ],
    )
    def create(self, request):
        body = WebhookEndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        endpoint, secret = webhook_endpoint_create(
            actor=self.actor,
            customer=self._owner(data),
            url=data["url"],
            events=data["events"],
            description=data["description"],
        )
        answer = WebhookEndpointSerializer(endpoint).data | {"secret": secret}
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WebhookEndpointChangeSerializer,
        responses={200: WebhookEndpointSerializer, **ERRORS_WRITE_404},
    )
    def partial_update(self, request, pk=None):
        endpoint = self._endpoint(pk)
        body = WebhookEndpointChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(
            actor=self.actor,
            endpoint=endpoint,
            events=body.validated_data.get("events"),
            is_active=body.validated_data.get("is_active"),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None, **ERRORS_WRITE_404})
    def destroy(self, request, pk=None):
        webhook_endpoint_delete(actor=self.actor, endpoint=self._endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookSecretSerializer, **ERRORS_WRITE_404})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        secret = webhook_secret_rotate(actor=self.actor, endpoint=self._endpoint(pk))
        return Response({"secret": secret})

    def _owner(self, data):
        customers = self.principal.customers()
        if "customer" not in data:
            only = list(customers[:2])
            if self.principal.customer_ids is None or len(only) != 1:
                raise ValidationError(
                    {"customer": ["Say which customer, or null for the partner's own endpoint."]}
                )
            return only[0]
        if data["customer"] is None:
            if self.principal.customer_ids is not None:
                raise ValidationError(
                    {"customer": ["Only unrestricted partner staff register partner-wide endpoints."]}
                )
            return None
        customer = customers.filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError({"customer": [f"No customer {data['customer']} is known to you."]})
        return customer

    def _endpoint(self, pk) -> WebhookEndpoint:
        endpoint = self.get_queryset().filter(pk=_pk(pk)).first()
        if endpoint is None:
            raise NotFound()
        return endpoint


class WebhookDeliveryViewSet(ApiViewSet):
    serializer_class = WebhookDeliverySerializer
    query_serializer_class = WebhookDeliveryQuerySerializer
    capabilities = {"resend": WRITE}

    def get_queryset(self):
        return self.principal.scope(WebhookDelivery.objects.select_related("endpoint"))

    @extend_schema(
        parameters=[WebhookDeliveryQuerySerializer],
        responses={200: WebhookDeliverySerializer(many=True), **ERRORS_READ},
    )
    def list(self, request):
        q = self.query()
        deliveries = self.get_queryset()
        if q.get("endpoint"):
            deliveries = deliveries.filter(endpoint_id=q["endpoint"])
        if q.get("status"):
            deliveries = deliveries.filter(status=q["status"])
        self.paginator.ordering = ("-created_at", "-id")
        page = self.paginator.paginate_queryset(deliveries, request, view=self)
        return self.paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(responses={200: WebhookDeliverySerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(WebhookDeliverySerializer(self._delivery(pk)).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer, **ERRORS_WRITE_404})
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = self._delivery(pk)
        webhook_delivery_resend(actor=self.actor, delivery=delivery)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    def _delivery(self, pk) -> WebhookDelivery:
        delivery = self.get_queryset().filter(pk=_pk(pk)).first()
        if delivery is None:
            raise NotFound()
        return delivery
