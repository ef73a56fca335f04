"""Request shapes of the REST API, validated before anything is written."""

from django.utils import timezone
from rest_framework import serializers

from orchestration.services.activity import MAX_EVENTS_PER_BATCH, SESSION_EVENT_KINDS


class SessionEventSerializer(serializers.Serializer):
    workspace_id = serializers.RegexField(r"^ws-[0-9a-z]{8,63}$", max_length=65)
    event = serializers.ChoiceField(choices=SESSION_EVENT_KINDS)
    at = serializers.DateTimeField(required=False, help_text="When it happened (ISO 8601); default: now.")

    def validate_at(self, value):
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise serializers.ValidationError("An event cannot be more than 5 minutes in the future.")
        return value


class SessionEventBatchSerializer(serializers.Serializer):
    events = SessionEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS_PER_BATCH)
