"""Request and response shapes of the REST API. Requests are validated before anything is written, and a
field the API does not know is refused (a typo must not silently do something else)."""

from django.utils import timezone
from rest_framework import serializers

from orchestration.choices import AuditOutcome, JobItemStatus, JobKind, JobStatus
from orchestration.models import AuditEvent, Job, JobItem
from orchestration.services.activity import MAX_EVENTS_PER_BATCH, SESSION_EVENT_KINDS
from orchestration.services.desktop_actions import DesktopAction
from orchestration.services.desktops import MAX_DESKTOPS_PER_JOB
from tenants.choices import ComputeType, DesktopState, RunningMode
from tenants.models import AwsAccount, Bundle, Customer, Desktop, Directory, Image, PowerPolicy
from tenants.selectors import DESKTOP_ORDERINGS, USAGE_GRANULARITIES


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown or read-only field."] for name in unknown})
        return super().to_internal_value(data)


# ----------------------------------------------------------------------------------------- session events
class SessionEventSerializer(StrictSerializer):
    workspace_id = serializers.RegexField(r"^ws-[0-9a-z]{8,63}$", max_length=65)
    event = serializers.ChoiceField(choices=SESSION_EVENT_KINDS)
    at = serializers.DateTimeField(required=False, help_text="When it happened (ISO 8601); default: now.")

    def validate_at(self, value):
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise serializers.ValidationError("An event cannot be more than 5 minutes in the future.")
        return value


class SessionEventBatchSerializer(StrictSerializer):
    events = SessionEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS_PER_BATCH)


class SessionEventResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    stale = serializers.IntegerField()
    unknown_workspace_ids = serializers.ListField(child=serializers.CharField())


# ---------------------------------------------------------------------------------------------- customers
class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "slug"]


# --------------------------------------------------------------------------------------- AWS-side objects
class AwsAccountSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)

    class Meta:
        model = AwsAccount
        fields = [
            "id",
            "customer",
            "name",
            "account_id",
            "regions",
            "default_region",
            "auth_mode",
            "verification_status",
            "verification_message",
            "verified_at",
            "dedicated_tenancy_support",
            "last_synced_at",
            "created_at",
        ]


class AccountVerificationSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    checked_at = serializers.DateTimeField()
    ok = serializers.BooleanField()


class _AwsResourceSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="aws_account.customer_id", read_only=True)
    aws_account = serializers.CharField(source="aws_account.account_id", read_only=True)


class DirectorySerializer(_AwsResourceSerializer):
    class Meta:
        model = Directory
        fields = [
            "id",
            "customer",
            "aws_account",
            "region",
            "directory_id",
            "name",
            "alias",
            "directory_type",
            "state",
            "tenancy",
            "subnet_ids",
            "maintenance_mode_enabled",
            "missing_from_aws_since",
            "last_synced_at",
        ]


class ImageSerializer(_AwsResourceSerializer):
    class Meta:
        model = Image
        fields = [
            "id",
            "customer",
            "aws_account",
            "region",
            "image_id",
            "name",
            "description",
            "state",
            "operating_system_type",
            "required_tenancy",
            "error_code",
            "error_message",
            "missing_from_aws_since",
            "last_synced_at",
            "created_at",
        ]


class BundleSerializer(_AwsResourceSerializer):
    image_id = serializers.CharField(source="image.image_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Bundle
        fields = [
            "id",
            "customer",
            "aws_account",
            "region",
            "bundle_id",
            "name",
            "description",
            "image_id",
            "compute_type",
            "root_volume_gib",
            "user_volume_gib",
            "state",
            "missing_from_aws_since",
            "last_synced_at",
        ]


class RefreshSerializer(StrictSerializer):
    aws_account = serializers.RegexField(r"^\d{12}$", help_text="The 12-digit AWS account id.")
    region = serializers.RegexField(r"^[a-z]{2}(-[a-z]+)+-\d$", max_length=30)


class RefreshResultSerializer(serializers.Serializer):
    aws_account = serializers.CharField()
    region = serializers.CharField()
    result = serializers.DictField(help_text="What the refresh changed, as the sync reports it.")


# ---------------------------------------------------------------------------------------------- desktops
class DesktopSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="aws_account.customer_id", read_only=True)
    aws_account = serializers.CharField(source="aws_account.account_id", read_only=True)
    directory_id = serializers.CharField(source="directory.directory_id", read_only=True)
    bundle_id = serializers.CharField(
        source="bundle.bundle_id", read_only=True, allow_null=True, default=None
    )
    power_policy = serializers.IntegerField(source="power_policy_id", read_only=True, allow_null=True)

    class Meta:
        model = Desktop
        fields = [
            "id",
            "customer",
            "aws_account",
            "region",
            "workspace_id",
            "directory_id",
            "bundle_id",
            "user_name",
            "workspace_name",
            "computer_name",
            "ip_address",
            "state",
            "state_changed_at",
            "running_mode",
            "compute_type",
            "root_volume_gib",
            "user_volume_gib",
            "power_policy",
            "error_code",
            "error_message",
            "missing_from_aws_since",
            "created_at",
        ]


class DesktopListQuerySerializer(StrictSerializer):
    search = serializers.CharField(required=False, max_length=100)
    state = serializers.MultipleChoiceField(choices=DesktopState.choices, required=False)
    user_name = serializers.CharField(required=False, max_length=63)
    bundle_id = serializers.CharField(required=False, max_length=65)
    directory_id = serializers.CharField(required=False, max_length=65)
    running_mode = serializers.ChoiceField(choices=RunningMode.choices, required=False)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    include_terminated = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(
        choices=[o for f in ("id", *DESKTOP_ORDERINGS) for o in (f, f"-{f}")],
        required=False,
        default="-id",
        help_text="A field, with a leading - for descending; default -id (newest first, by the primary key's index).",
    )
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class DesktopCreateSerializer(StrictSerializer):
    aws_account = serializers.RegexField(r"^\d{12}$", help_text="The 12-digit AWS account id.")
    directory_id = serializers.CharField(max_length=65)
    bundle_id = serializers.CharField(max_length=65)
    running_mode = serializers.ChoiceField(
        choices=[RunningMode.MANUAL, RunningMode.ALWAYS_ON], default=RunningMode.MANUAL
    )
    user_names = serializers.ListField(
        child=serializers.CharField(max_length=63),
        required=False,
        default=list,
        max_length=MAX_DESKTOPS_PER_JOB,
    )
    count = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_DESKTOPS_PER_JOB)
    compute_type = serializers.ChoiceField(choices=ComputeType.choices, required=False)
    root_volume_gib = serializers.IntegerField(required=False, min_value=1, max_value=2000)
    user_volume_gib = serializers.IntegerField(required=False, min_value=1, max_value=2000)


API_ACTIONS = [
    DesktopAction.START,
    DesktopAction.STOP,
    DesktopAction.REBOOT,
    DesktopAction.REBUILD,
    DesktopAction.RESTORE,
    DesktopAction.MODIFY,
    DesktopAction.TERMINATE,
]


class ModifyParamsSerializer(StrictSerializer):
    compute_type = serializers.ChoiceField(choices=ComputeType.choices, required=False)
    root_volume_gib = serializers.IntegerField(required=False, min_value=1, max_value=2000)
    user_volume_gib = serializers.IntegerField(required=False, min_value=1, max_value=2000)
    running_mode = serializers.ChoiceField(
        choices=[RunningMode.MANUAL, RunningMode.ALWAYS_ON], required=False
    )


class DesktopActionSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=[str(a) for a in API_ACTIONS])
    params = ModifyParamsSerializer(required=False, help_text="modify only: the properties to change.")


class DesktopSelectionActionSerializer(DesktopActionSerializer):
    desktop_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53),
        allow_empty=False,
        max_length=MAX_DESKTOPS_PER_JOB,
        help_text="The desktops' ids in this API, all of one customer.",
    )


# -------------------------------------------------------------------------------------------------- jobs
class JobProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Selected desktops the action did not apply to; not failures."
    )
    in_flight = serializers.IntegerField()


class JobSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    kind = serializers.ChoiceField(choices=JobKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    requested_by = serializers.CharField(source="requested_by_label", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "customer",
            "kind",
            "status",
            "params",
            "result",
            "error",
            "requested_by",
            "total_items",
            "progress",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, job) -> JobProgressSerializer:
        progress = self.context.get("progress", {}).get(job.pk)
        return JobProgressSerializer(progress).data if progress else None  # type: ignore[return-value]


class JobItemSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=JobItemStatus.choices, read_only=True)
    desktop = serializers.IntegerField(source="desktop_id", read_only=True, allow_null=True)

    class Meta:
        model = JobItem
        fields = [
            "id",
            "sequence",
            "status",
            "desktop",
            "aws_resource_id",
            "aws_request_id",
            "attempts",
            "error_code",
            "error_message",
            "finished_at",
        ]


class JobDetailSerializer(JobSerializer):
    items = JobItemSerializer(many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "items"]


class JobListQuerySerializer(StrictSerializer):
    status = serializers.MultipleChoiceField(choices=JobStatus.choices, required=False)
    kind = serializers.MultipleChoiceField(choices=JobKind.choices, required=False)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class JobCancelResultSerializer(serializers.Serializer):
    cancelled_items = serializers.IntegerField(help_text="Items stopped before they reached AWS.")
    job = JobSerializer()


# ------------------------------------------------------------------------------------------ power policies
class PowerPolicySerializer(StrictModelSerializer):
    customer = serializers.IntegerField(
        source="customer_id",
        required=False,
        min_value=1,
        max_value=2**53,
        help_text="The customer (staff tokens; a customer token's own is implied).",
    )

    class Meta:
        model = PowerPolicy
        fields = [
            "id",
            "customer",
            "name",
            "is_default",
            "stop_after_disconnect_minutes",
            "stop_after_no_session_minutes",
            "schedule",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The (customer, name) uniqueness is the service's to check, with a field error.
        validators: list = []


# ---------------------------------------------------------------------------------------------- usage
class UsageQuerySerializer(StrictSerializer):
    start = serializers.DateField(help_text="First day (inclusive, UTC).")
    end = serializers.DateField(
        help_text="Day after the last (exclusive, UTC); at most 366 days after start."
    )
    granularity = serializers.ChoiceField(choices=USAGE_GRANULARITIES, default="day")
    customer = serializers.IntegerField(
        required=False, min_value=1, max_value=2**53, help_text="Required for staff tokens."
    )

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        if (attrs["end"] - attrs["start"]).days > 366:
            raise serializers.ValidationError({"end": ["At most 366 days at a time."]})
        return attrs


class UsageRowSerializer(serializers.Serializer):
    desktop = serializers.IntegerField(source="desktop_id")
    aws_account = serializers.CharField(source="aws_account_id")
    region = serializers.CharField()
    workspace_id = serializers.CharField()
    user_name = serializers.CharField()
    running_mode = serializers.CharField()
    period = serializers.CharField(help_text="YYYY-MM-DD (day) or YYYY-MM (month).")
    available_hours = serializers.DecimalField(max_digits=10, decimal_places=2)


class UsageSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.CharField()
    rows = UsageRowSerializer(many=True)


# ----------------------------------------------------------------------------------------- audit events
class AuditEventSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    job = serializers.IntegerField(source="job_id", read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(choices=AuditOutcome.choices, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor_kind",
            "actor_label",
            "customer",
            "aws_account_id",
            "region",
            "action",
            "target_type",
            "target_id",
            "aws_request_id",
            "outcome",
            "error_code",
            "error_message",
            "job",
            "details",
        ]


class AuditListQuerySerializer(StrictSerializer):
    action = serializers.CharField(required=False, max_length=64)
    outcome = serializers.ChoiceField(choices=AuditOutcome.choices, required=False)
    target_id = serializers.CharField(required=False, max_length=200)
    actor = serializers.CharField(required=False, max_length=200)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class ListQuerySerializer(StrictSerializer):
    """Plain lists: narrowed by customer (staff), paged by cursor."""

    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)
