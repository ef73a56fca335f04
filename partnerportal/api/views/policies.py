"""Power policies: list, retrieve, create, update, delete (configure capability to change them)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from orchestration.services.power_policies import (
    power_policy_create,
    power_policy_delete,
    power_policy_update,
)
from partnerportal.api import serializers as s
from partnerportal.api.schema import ERRORS_READ, ERRORS_WRITE, ERRORS_WRITE_404
from partnerportal.api.views.base import ApiViewSet
from tenants.access import Capability
from tenants.models import PowerPolicy

WRITE = Capability.CONFIGURE


class PowerPolicyViewSet(ApiViewSet):
    serializer_class = s.PowerPolicySerializer
    query_serializer_class = s.ListQuerySerializer
    capabilities = {"create": WRITE, "update": WRITE, "partial_update": WRITE, "destroy": WRITE}

    def get_queryset(self):
        return self.principal.scope(PowerPolicy.objects.select_related("customer"))

    @extend_schema(
        parameters=[s.ListQuerySerializer], responses={200: s.PowerPolicySerializer(many=True), **ERRORS_READ}
    )
    def list(self, request):
        q = self.query()
        policies = self.get_queryset()
        if q.get("customer"):
            policies = policies.filter(customer_id=q["customer"])
        self.paginator.ordering = ("name", "pk")
        page = self.paginator.paginate_queryset(policies, request, view=self)
        return self.paginator.get_paginated_response(s.PowerPolicySerializer(page, many=True).data)

    @extend_schema(responses={200: s.PowerPolicySerializer, **ERRORS_READ})
    def retrieve(self, request, pk=None):
        return Response(s.PowerPolicySerializer(self._policy(pk)).data)

    @extend_schema(request=s.PowerPolicySerializer, responses={201: s.PowerPolicySerializer, **ERRORS_WRITE})
    def create(self, request):
        body = s.PowerPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        customer_id = fields.pop("customer_id", None)
        customers = self.principal.customers()
        if customer_id is None:
            only = list(customers[:2])
            if len(only) != 1:
                raise ValidationError({"customer": ["Say which customer the policy is for."]})
            customer = only[0]
        else:
            customer = customers.filter(pk=customer_id).first()
            if customer is None:
                raise ValidationError({"customer": [f"No customer {customer_id} is known to you."]})
        policy = power_policy_create(actor=self.actor, customer=customer, fields=fields)
        return Response(s.PowerPolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.PowerPolicySerializer, responses={200: s.PowerPolicySerializer, **ERRORS_WRITE_404}
    )
    def update(self, request, pk=None):
        return self._change(request, pk, partial=False)

    @extend_schema(
        request=s.PowerPolicySerializer, responses={200: s.PowerPolicySerializer, **ERRORS_WRITE_404}
    )
    def partial_update(self, request, pk=None):
        return self._change(request, pk, partial=True)

    @extend_schema(responses={204: None, **ERRORS_WRITE_404})
    def destroy(self, request, pk=None):
        power_policy_delete(actor=self.actor, policy=self._policy(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _change(self, request, pk, *, partial):
        policy = self._policy(pk)
        body = s.PowerPolicySerializer(policy, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if fields.pop("customer_id", policy.customer_id) != policy.customer_id:
            raise ValidationError({"customer": ["A policy stays with its customer."]})
        policy = power_policy_update(actor=self.actor, policy=policy, fields=fields)
        return Response(s.PowerPolicySerializer(policy).data)

    def _policy(self, pk) -> PowerPolicy:
        if not str(pk).isdigit():
            raise NotFound()
        return self.get_queryset().get(pk=int(pk))
