"""No relation crosses tenants (issue 12, item 2): clean() names the field, and PostgreSQL refuses the row
when a write skips clean() (a queryset update, raw SQL)."""

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from orchestration.models import JobItem
from tenants.models import (
    AwsAccount,
    Bundle,
    Desktop,
    Directory,
    GoldenImagePipeline,
    Image,
    PowerPolicy,
)
from tests.factories import (
    AwsAccountFactory,
    BundleFactory,
    CustomerFactory,
    DesktopFactory,
    DirectoryFactory,
    ImageFactory,
    JobFactory,
    PowerPolicyFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two customers, each with an account, a desktop (directory, bundle, image) and a power policy."""
    made = {}
    for name in ("a", "b"):
        account = AwsAccountFactory(customer=CustomerFactory())
        desktop = DesktopFactory(aws_account=account)
        made[name] = {
            "account": account,
            "customer": account.customer,
            "desktop": desktop,
            "directory": desktop.directory,
            "bundle": desktop.bundle,
            "image": desktop.bundle.image,
            "policy": PowerPolicyFactory(customer=account.customer),
        }
    return made


def pipeline_of(side: dict, **overrides) -> GoldenImagePipeline:
    fields = {
        "customer": side["customer"],
        "aws_account": side["account"],
        "region": "us-east-1",
        "name": "nightly",
        "golden_desktop": side["desktop"],
        "image_name_prefix": "golden",
        **overrides,
    }
    return GoldenImagePipeline.objects.create(**fields)


def refused_by_database(write: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def field_errors(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


# (model, field, the row of side "a", the value of side "b" it must not take)
RELATIONS = [
    (Desktop, "directory", "desktop", "directory"),
    (Desktop, "bundle", "desktop", "bundle"),
    (Desktop, "power_policy", "desktop", "policy"),
    (Bundle, "image", "bundle", "image"),
]


@pytest.mark.parametrize(
    ("model", "field", "row", "value"), RELATIONS, ids=[f"{m.__name__}.{f}" for m, f, _, _ in RELATIONS]
)
def test_a_resource_refuses_another_tenants_relation(world, model, field, row, value):
    instance, stranger = world["a"][row], world["b"][value]
    instance.full_clean()  # as made: within one tenant, clean

    setattr(instance, field, stranger)
    assert field in field_errors(instance)

    refused_by_database(lambda: model.objects.filter(pk=instance.pk).update(**{field: stranger}))
    assert getattr(model.objects.get(pk=instance.pk), f"{field}_id") != stranger.pk


def test_an_image_copy_comes_from_its_own_account(world):
    copy = ImageFactory(aws_account=world["a"]["account"], source_image=world["a"]["image"])
    copy.full_clean()

    copy.source_image = world["b"]["image"]
    assert "source_image" in field_errors(copy)
    refused_by_database(lambda: Image.objects.filter(pk=copy.pk).update(source_image=world["b"]["image"]))


def test_a_power_policy_of_another_customer_is_refused_by_raw_sql(world):
    desktop = world["a"]["desktop"]
    with connection.cursor() as cursor:
        refused_by_database(
            lambda: cursor.execute(
                "UPDATE tenants_desktop SET power_policy_id = %s WHERE id = %s",
                [world["b"]["policy"].pk, desktop.pk],
            )
        )
        cursor.execute(
            "UPDATE tenants_desktop SET power_policy_id = %s WHERE id = %s",
            [world["a"]["policy"].pk, desktop.pk],
        )
    desktop.refresh_from_db()
    assert desktop.power_policy_id == world["a"]["policy"].pk


def test_a_desktop_inserted_with_another_customers_policy_is_refused(world):
    a = world["a"]
    refused_by_database(
        lambda: Desktop.objects.bulk_create(
            [
                Desktop(
                    aws_account=a["account"],
                    directory=a["directory"],
                    user_name="eve",
                    power_policy=world["b"]["policy"],
                )
            ]
        )
    )


def test_a_pipeline_uses_its_customers_account_and_golden_desktop(world):
    a, b = world["a"], world["b"]
    pipeline = pipeline_of(a)
    pipeline.full_clean()

    pipeline.aws_account = b["account"]
    assert "aws_account" in field_errors(pipeline)
    refused_by_database(
        lambda: GoldenImagePipeline.objects.filter(pk=pipeline.pk).update(aws_account=b["account"])
    )
    refused_by_database(lambda: pipeline_of(a, name="mixed", aws_account=b["account"]))

    pipeline.refresh_from_db()
    pipeline.golden_desktop = b["desktop"]
    assert "golden_desktop" in field_errors(pipeline)
    refused_by_database(
        lambda: GoldenImagePipeline.objects.filter(pk=pipeline.pk).update(golden_desktop=b["desktop"])
    )
    # Customer B's account and golden desktop with customer A: the key on (account, customer) refuses it.
    refused_by_database(
        lambda: GoldenImagePipeline.objects.filter(pk=pipeline.pk).update(
            aws_account=b["account"], golden_desktop=b["desktop"]
        )
    )


def test_a_pipelines_target_bundles_are_in_its_account(world):
    a, b = world["a"], world["b"]
    pipeline = pipeline_of(a)
    pipeline.clean_target_bundles([a["bundle"]])
    with pytest.raises(ValidationError) as caught:
        pipeline.clean_target_bundles([a["bundle"], b["bundle"]])
    assert "target_bundles" in caught.value.message_dict

    pipeline.target_bundles.add(a["bundle"])
    refused_by_database(lambda: pipeline.target_bundles.add(b["bundle"]))
    through = GoldenImagePipeline.target_bundles.through
    refused_by_database(
        lambda: through.objects.filter(goldenimagepipeline=pipeline).update(bundle=b["bundle"])
    )
    assert list(pipeline.target_bundles.all()) == [a["bundle"]]

    # Moving the pipeline to another account of the same customer would strand its bundles there.
    other_account = AwsAccountFactory(customer=a["customer"])
    golden = DesktopFactory(aws_account=other_account)
    refused_by_database(
        lambda: GoldenImagePipeline.objects.filter(pk=pipeline.pk).update(
            aws_account=other_account, golden_desktop=golden
        )
    )


def test_a_jobs_items_touch_only_its_customers_desktops(world):
    job = JobFactory(customer=world["a"]["customer"])
    item = JobItem.objects.create(job=job, sequence=0, desktop=world["a"]["desktop"])
    item.full_clean()

    item.desktop = world["b"]["desktop"]
    assert "desktop" in field_errors(item)
    refused_by_database(lambda: JobItem.objects.filter(pk=item.pk).update(desktop=world["b"]["desktop"]))
    refused_by_database(lambda: JobItem.objects.create(job=job, sequence=1, desktop=world["b"]["desktop"]))


@pytest.mark.parametrize(
    ("model", "row", "field", "value"),
    [
        (AwsAccount, "account", "customer", "customer"),
        (PowerPolicy, "policy", "customer", "customer"),
        (Directory, "directory", "aws_account", "account"),
        (Image, "image", "aws_account", "account"),
        (Bundle, "bundle", "aws_account", "account"),
        (Desktop, "desktop", "aws_account", "account"),
    ],
    ids=[
        "AwsAccount.customer",
        "PowerPolicy.customer",
        "Directory.aws_account",
        "Image.aws_account",
        "Bundle.aws_account",
        "Desktop.aws_account",
    ],
)
def test_a_row_never_moves_to_another_tenant(world, model, row, field, value):
    instance, stranger = world["a"][row], world["b"][value]
    setattr(instance, field, stranger)
    assert field in field_errors(instance)
    refused_by_database(lambda: model.objects.filter(pk=instance.pk).update(**{field: stranger}))


def test_a_job_never_moves_to_another_customer(world):
    job = JobFactory(customer=world["a"]["customer"])
    refused_by_database(lambda: type(job).objects.filter(pk=job.pk).update(customer=world["b"]["customer"]))


def test_the_same_tenant_may_still_change_its_relations(world):
    a = world["a"]
    other_bundle = BundleFactory(aws_account=a["account"])
    other_directory = DirectoryFactory(aws_account=a["account"])
    policy = PowerPolicyFactory(customer=a["customer"])
    Desktop.objects.filter(pk=a["desktop"].pk).update(
        bundle=other_bundle, directory=other_directory, power_policy=policy
    )
    Bundle.objects.filter(pk=other_bundle.pk).update(image=ImageFactory(aws_account=a["account"]))
    desktop = Desktop.objects.get(pk=a["desktop"].pk)
    desktop.full_clean()
    assert (desktop.bundle_id, desktop.directory_id, desktop.power_policy_id) == (
        other_bundle.pk,
        other_directory.pk,
        policy.pk,
    )
