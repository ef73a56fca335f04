"""What every API view shares: authentication, the principal's capabilities, per-client throttling, cursor
pages, Idempotency-Key on POST, and query parameters validated like bodies."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes, schema
from rest_framework.exceptions import NotFound
from rest_framework.fields import MultipleChoiceField
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.serializers import Serializer
from rest_framework.viewsets import GenericViewSet

from orchestration.actors import Actor
from partnerportal.api.authentication import ApiTokenAuthentication
from partnerportal.api.idempotency import idempotent
from partnerportal.api.pagination import ApiCursorPagination
from partnerportal.api.permissions import HasCapability, request_actor, request_principal
from partnerportal.api.throttling import ClientRateThrottle
from tenants.access import Principal


class ApiViewSet(GenericViewSet):
    """A resource of API v1. Subclasses read through selectors with `self.principal` and write through
    services with `self.actor`; `capabilities` maps an action to what it needs (default: VIEW)."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, HasCapability]
    throttle_classes = [ClientRateThrottle]
    pagination_class: type[ApiCursorPagination] | None = ApiCursorPagination
    metadata_class = None  # OPTIONS is a 405: the schema describes the API
    query_serializer_class: type[Serializer] | None = None  # validates the list's query parameters
    capabilities: dict = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # After authentication and permissions, before the handler: POSTs honour Idempotency-Key.
        if request.method == "POST" and hasattr(self, "post"):
            self.post = idempotent(self, self.post)

    @property
    def principal(self) -> Principal:
        return request_principal(self.request)

    @property
    def actor(self) -> Actor:
        return request_actor(self.request)

    def query(self) -> dict:
        """The list's query parameters, validated (unknown ones refused)."""
        if self.query_serializer_class is None:
            return {}
        params = {
            name: values if len(values) > 1 or name in self._multi_params() else values[0]
            for name, values in self.request.query_params.lists()
        }
        serializer = self.query_serializer_class(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _multi_params(self) -> set[str]:
        fields: dict = dict(self.query_serializer_class().fields) if self.query_serializer_class else {}
        return {name for name, field in fields.items() if isinstance(field, MultipleChoiceField)}


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
@schema(None)
def not_found(request, *args, **kwargs):
    """A path the API does not have."""
    raise NotFound(f"The API has no {request.path}.")
