"""REST endpoints: thin, they validate and call services."""

from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from orchestration.services.activity import SessionEvent, session_events_record
from partnerportal.api.authentication import ApiTokenAuthentication, TokenUser
from partnerportal.api.serializers import SessionEventBatchSerializer


class SessionEventsView(APIView):
    """POST the gateway's session events for the token's customer: connect, disconnect, heartbeat.

    Body: {"events": [{"workspace_id": "ws-…", "event": "connect", "at": "2026-11-27T09:00:00Z"}, …]}
    (at most 500). Answers 202 with how many were applied; ids that are not the customer's desktops are
    listed as unknown, the same whether they exist elsewhere or not.
    """

    authentication_classes = [ApiTokenAuthentication]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "session-events"

    def post(self, request):
        if not isinstance(request.user, TokenUser):
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
