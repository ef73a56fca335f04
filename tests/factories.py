"""factory_boy factories for every model, in one place."""

import factory
from django.contrib.auth import get_user_model

from orchestration.choices import ActorKind, AuditOutcome, JobKind
from orchestration.models import AuditEvent, Job, JobItem
from tenants.choices import AuthMode, ComputeType, DesktopState, MembershipRole, RunningMode
from tenants.models import (
    AwsAccount,
    Bundle,
    Customer,
    CustomerMembership,
    Desktop,
    Directory,
    Image,
    PowerPolicy,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    slug = factory.Sequence(lambda n: f"customer-{n}")


class CustomerMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerMembership

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = MembershipRole.ADMIN


class AwsAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AwsAccount

    customer = factory.SubFactory(CustomerFactory)
    account_id = factory.Sequence(lambda n: f"{200000000000 + n:012d}")
    auth_mode = AuthMode.ASSUME_ROLE
    role_arn = factory.LazyAttribute(lambda a: f"arn:aws:iam::{a.account_id}:role/PartnerWorkSpacesCore")
    default_region = "us-east-1"
    regions = factory.LazyFunction(lambda: ["us-east-1"])


class DirectoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Directory

    aws_account = factory.SubFactory(AwsAccountFactory)
    region = "us-east-1"
    directory_id = factory.Sequence(lambda n: f"d-{n:010x}")
    name = factory.Sequence(lambda n: f"corp{n}.example.com")
    state = "REGISTERED"


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    aws_account = factory.SubFactory(AwsAccountFactory)
    region = "us-east-1"
    image_id = factory.Sequence(lambda n: f"wsi-{n:09d}")
    name = factory.Sequence(lambda n: f"win11-golden-{n}")
    state = "AVAILABLE"


class BundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bundle

    aws_account = factory.SubFactory(AwsAccountFactory)
    region = "us-east-1"
    bundle_id = factory.Sequence(lambda n: f"wsb-{n:09d}")
    name = factory.Sequence(lambda n: f"standard-{n}")
    image = factory.SubFactory(ImageFactory, aws_account=factory.SelfAttribute("..aws_account"))
    compute_type = ComputeType.STANDARD
    root_volume_gib = 80
    user_volume_gib = 50


class DesktopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Desktop

    aws_account = factory.SubFactory(AwsAccountFactory)
    region = "us-east-1"
    directory = factory.SubFactory(DirectoryFactory, aws_account=factory.SelfAttribute("..aws_account"))
    bundle = factory.SubFactory(BundleFactory, aws_account=factory.SelfAttribute("..aws_account"))
    workspace_id = factory.Sequence(lambda n: f"ws-{n:09d}")
    user_name = factory.Sequence(lambda n: f"user{n}")
    state = DesktopState.AVAILABLE
    running_mode = RunningMode.MANUAL


class PowerPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PowerPolicy

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"policy {n}")
    stop_after_disconnect_minutes = 30


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = JobKind.DESKTOP_CREATE
    customer = factory.SubFactory(CustomerFactory)
    requested_by_kind = ActorKind.STAFF
    requested_by_label = "ops"


class JobItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobItem

    job = factory.SubFactory(JobFactory)
    sequence = factory.Sequence(lambda n: n)


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    actor_kind = ActorKind.STAFF
    actor_label = "ops"
    customer = factory.SubFactory(CustomerFactory)
    customer_label = factory.LazyAttribute(lambda e: e.customer.name if e.customer else "")
    action = "StopWorkspaces"
    target_type = "desktop"
    target_id = factory.Sequence(lambda n: f"ws-{n:09d}")
    aws_request_id = factory.Sequence(lambda n: f"req-{n:08d}")
    outcome = AuditOutcome.SUCCEEDED
