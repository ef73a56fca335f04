"""Two tenants with objects of every kind, and API clients for their tokens and for a staff token."""

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from orchestration.actors import Actor
from orchestration.choices import JobItemStatus, JobKind
from orchestration.models import WebhookDelivery
from orchestration.services.webhooks import webhook_endpoint_create
from tenants.models import ApiToken, Pool
from tests.factories import (
    AuditEventFactory,
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
    ImageFactory,
    JobFactory,
    JobItemFactory,
    PowerPolicyFactory,
    StaffUserFactory,
)

# What the tag guard needs to see before the control plane may change a desktop.
MANAGED = {"PartnerManaged": "true"}


@dataclass
class Tenant:
    """One customer's world: its objects, and a client per token scope."""

    customer: object
    account: object
    directory: object
    image: object
    bundle: object
    desktops: list
    policy: object
    job: object
    event: object
    clients: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    webhook: object = None
    delivery: object = None
    pool: object = None


def token_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def make_tenant(slug: str, account_id: str) -> Tenant:
    customer = CustomerFactory(slug=slug, name=slug.title())
    account = AwsAccountFactory(customer=customer, account_id=account_id)
    directory = DirectoryFactory(aws_account=account)
    image = ImageFactory(aws_account=account)
    bundle = BundleFactory(aws_account=account, image=image)
    desktops = [
        DesktopFactory(aws_account=account, directory=directory, bundle=bundle, state=state, tags=MANAGED)
        for state in ("AVAILABLE", "STOPPED", "AVAILABLE")
    ]
    policy = PowerPolicyFactory(customer=customer, name=f"{slug} default", is_default=True)
    job = JobFactory(customer=customer, kind=JobKind.DESKTOP_START, params={"action": "start"}, total_items=1)
    JobItemFactory(job=job, desktop=desktops[1], status=JobItemStatus.PENDING)
    event = AuditEventFactory(customer=customer, target_id=desktops[0].workspace_id)
    tenant = Tenant(customer, account, directory, image, bundle, desktops, policy, job, event)
    tenant.webhook, _ = webhook_endpoint_create(
        actor=Actor.system("test"),
        customer=customer,
        url=f"https://{slug}.example.com/hooks",
        events=["job.finished"],
    )
    tenant.delivery = WebhookDelivery.objects.create(
        endpoint=tenant.webhook,
        customer=customer,
        event_key=f"job:{job.pk}",
        event_type="job.finished",
        payload={},
    )
    tenant.pool = Pool.objects.create(
        customer=customer,
        aws_account=account,
        region="us-east-1",
        directory=directory,
        bundle=bundle,
        name=f"{slug} pool",
        max_size=3,
        buffer=1,
    )
    for scope in ("read", "operate", "admin"):
        _, plaintext = ApiToken.issue(customer=customer, name=f"{slug}-{scope}", scopes=[scope])
        tenant.tokens[scope] = plaintext
        tenant.clients[scope] = token_client(plaintext)
    return tenant


@pytest.fixture(autouse=True)
def empty_throttle_buckets():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def acme(db) -> Tenant:
    return make_tenant("acme", "111111111111")


@pytest.fixture
def globex(db) -> Tenant:
    return make_tenant("globex", "222222222222")


@pytest.fixture
def staff_token(db) -> str:
    user = StaffUserFactory(username="automation")
    _, plaintext = ApiToken.issue(staff_user=user, name="ci", scopes=["read", "operate", "admin"])
    return plaintext


@pytest.fixture
def staff_api(staff_token) -> APIClient:
    return token_client(staff_token)
