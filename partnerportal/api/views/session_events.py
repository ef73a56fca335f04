"""The gateway's session events (the endpoint API v1 started with; same path and behaviour)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from orchestration.services.activity import SessionEvent, session_events_record
from partnerportal.api.authentication import ApiTokenAuthentication, TokenUser
from partnerportal.api.schema import ERRORS_WRITE
from partnerportal.api.serializers import SessionEventBatchSerializer, SessionEventResultSerializer
from partnerportal.api.throttling import ClientRateThrottle, ClientScopedRateThrottle
from partnerportal.api.views.base import ApiViewSet


class SessionEventViewSet(ApiViewSet):
    """POST the gateway's session events for the token's customer: connect, disconnect, heartbeat.

    Body: {"events": [{"workspace_id": "ws-…", "event": "connect", "at": "2026-11-27T09:00:00Z"}, …]}
    (at most 500). Answers 202 with how many were applied; ids that are not the customer's desktops are
    listed as unknown, the same whether they exist elsewhere or not.
    """

    authentication_classes = [ApiTokenAuthentication]
    throttle_classes = [ClientRateThrottle, ClientScopedRateThrottle]
    throttle_scope = "session-events"
    pagination_class = None

    @extend_schema(
        request=SessionEventBatchSerializer,
        responses={202: SessionEventResultSerializer, **ERRORS_WRITE},
        summary="Record the gateway's session events (customer tokens)",
    )
    def create(self, request):
        if not (isinstance(request.user, TokenUser) and request.user.customer is not None):
            raise PermissionDenied("Session events are posted with a customer API token.")
        serializer = SessionEventBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        events = [
            SessionEvent(workspace_id=e["workspace_id"], kind=e["event"], at=e.get("at") or now)
            for e in serializer.validated_data["events"]
        ]
        result = session_events_record(customer=request.user.customer, events=events)
        return Response(
            {
                "applied": result.applied,
                "stale": result.stale,
                "unknown_workspace_ids": result.unknown_workspace_ids,
            },
            status=status.HTTP_202_ACCEPTED,
        )
