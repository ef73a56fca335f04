"""An onboarded customer in the simulator, for integration tests and benchmarks alike."""

from typing import Any

from tenants.models import AwsAccount, Bundle, Customer, Directory


def onboard_demo_customer(simulator, *, name: str, slug: str) -> dict[str, Any]:
    """A customer whose simulated AWS account trusts our role with our External ID, already onboarded:
    BYOL done, a DEDICATED directory registered, an imported image and a bundle, all tagged."""
    world = simulator.create_demo_world(ready=True)
    demo = world["accounts"][0]
    customer = Customer.objects.create(name=name, slug=slug)
    account = AwsAccount.objects.create(
        customer=customer,
        account_id=demo["account_id"],
        role_arn=demo["role_arn"],
        default_region=demo["region"],
        regions=[demo["region"]],
        byop_enabled=True,
    )
    # The customer deploys our template: their role's trust policy now names our External ID.
    simulator.update_account(account.account_id, external_id=account.external_id)
    directory = Directory.objects.create(
        aws_account=account,
        region=demo["region"],
        directory_id=demo["directory_id"],
        state="REGISTERED",
        tenancy="DEDICATED",
    )
    bundle = Bundle.objects.create(
        aws_account=account,
        region=demo["region"],
        bundle_id=demo["bundle_id"],
        name=slug,
        compute_type="STANDARD",
        root_volume_gib=80,
        user_volume_gib=50,
    )
    return {
        "customer": customer,
        "aws_account": account,
        "directory": directory,
        "bundle": bundle,
        "demo": demo,
    }
