"""Usage (hours each desktop was AVAILABLE per day or month) and the audit log."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from orchestration.selectors import AuditFilters, audit_event_list
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_READ
from partnerportal.api.views.base import ApiViewSet
from tenants.access import Capability
from tenants.selectors import usage_available_hours


class UsageViewSet(ApiViewSet):
    """Billing's view: hours AVAILABLE per desktop and day or month, from the recorded state history."""

    serializer_class = s.UsageSerializer
    query_serializer_class = s.UsageQuerySerializer
    pagination_class = None

    @extend_schema(parameters=[s.UsageQuerySerializer], responses={200: s.UsageSerializer, **ERRORS_READ})
    def list(self, request):
        q = self.query()
        customers = self.principal.customers()
        if q.get("customer") is not None:
            customer = customers.filter(pk=q["customer"]).first()
            if customer is None:
                raise ValidationError({"customer": [f"No customer {q['customer']} is known to you."]})
        else:
            only = list(customers[:2])
            if len(only) != 1:
                raise ValidationError({"customer": ["Say which customer (you see more than one)."]})
            customer = only[0]
        rows = usage_available_hours(
            customer=customer, start=q["start"], end=q["end"], granularity=q["granularity"]
        )
        return Response(
            {
                "customer": customer.pk,
                "start": q["start"],
                "end": q["end"],
                "granularity": q["granularity"],
                "rows": s.UsageRowSerializer(rows, many=True).data,
            }
        )


class AuditEventViewSet(ApiViewSet):
    serializer_class = s.AuditEventSerializer
    query_serializer_class = s.AuditListQuerySerializer
    required_capability = Capability.AUDIT

    def get_queryset(self):
        return audit_event_list(principal=self.principal)

    @extend_schema(
        parameters=[s.AuditListQuerySerializer],
        responses={200: s.AuditEventSerializer(many=True), **ERRORS_READ},
    )
    def list(self, request):
        q = self.query()
        events = audit_event_list(
            principal=self.principal,
            filters=AuditFilters(
                action=q.get("action", ""),
                outcome=q.get("outcome", ""),
                target_id=q.get("target_id", ""),
                actor=q.get("actor", ""),
                since=q.get("since"),
                until=q.get("until"),
                customer_id=q.get("customer"),
            ),
        )
        if self.principal.customer_ids is not None:
            events = events.exclude(customer_id__isnull=True)  # the partner's own events are staff's
        self.paginator.ordering = ("-occurred_at", "-id")
        page = self.paginator.paginate_queryset(events, request, view=self)
        return self.paginator.get_paginated_response(s.AuditEventSerializer(page, many=True).data)
