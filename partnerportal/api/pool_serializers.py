"""Pools in API v1: the pool with its counts, an assignment request and its answer."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partnerportal.api.serializers import DesktopSerializer, JobSerializer, StrictSerializer
from tenants.models import Pool


class PoolCountsSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    assigned = serializers.IntegerField()
    warm = serializers.IntegerField(help_text="AVAILABLE and unassigned: handed out at once.")
    warming = serializers.IntegerField(help_text="Being made or started for the buffer.")
    stopped = serializers.IntegerField()
    recycling = serializers.IntegerField(help_text="Released, rebuilt before anyone else gets them.")
    other = serializers.IntegerField(help_text="Stopping, or in a state no user can have.")


class PoolWindowSerializer(serializers.Serializer):
    days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    start = serializers.CharField(help_text="HH:MM in the pool's time zone.")
    end = serializers.CharField()
    min = serializers.IntegerField()
    buffer = serializers.IntegerField()


class PoolSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    aws_account = serializers.CharField(source="aws_account.account_id", read_only=True)
    directory_id = serializers.CharField(source="directory.directory_id", read_only=True)
    bundle_id = serializers.CharField(source="bundle.bundle_id", read_only=True)
    schedule = PoolWindowSerializer(many=True, read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Pool
        fields = [
            "id",
            "customer",
            "name",
            "aws_account",
            "region",
            "directory_id",
            "bundle_id",
            "running_mode",
            "min_size",
            "max_size",
            "buffer",
            "time_zone",
            "schedule",
            "persistent",
            "release_delay_minutes",
            "max_unavailable_percent",
            "enabled",
            "counts",
            "created_at",
        ]

    @extend_schema_field(PoolCountsSerializer)
    def get_counts(self, pool: Pool) -> dict:
        """From the view's context: the counts of every pool on the page, read once."""
        return PoolCountsSerializer(vars(self.context["counts"][pool.pk])).data


class AssignmentRequestSerializer(StrictSerializer):
    user = serializers.CharField(
        max_length=63, help_text="The directory user name the desktop is for (the gateway's user)."
    )


class AssignmentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["assigned", "pending", "wait"],
        help_text="assigned: the desktop is ready; pending: it is on its way (see job, estimate_seconds, "
        "and ask again); wait: nothing free and the pool is at its maximum (ask again after Retry-After).",
    )
    reason = serializers.CharField()
    user = serializers.CharField()
    desktop = DesktopSerializer(allow_null=True)
    job = JobSerializer(allow_null=True)
    estimate_seconds = serializers.IntegerField(help_text="0 when assigned; otherwise a rough estimate.")
