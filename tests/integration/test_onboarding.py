"""Verifying a connection against the simulator server: the right role works, and every wrong one (S2's
confused deputy, a stale External ID, a missing permission, another account's keys) gets its own message."""

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.aws.account import role_assume_fresh
from orchestration.aws.errors import AwsAccessDenied
from orchestration.aws.types import AccountAccess
from orchestration.models import AuditEvent
from orchestration.services.onboarding import account_verify
from tenants.choices import AuthMode
from tenants.models import AwsAccount, Customer

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def partner_account(settings):
    """The simulator's partner account (moto's default), where our dummy credentials land."""
    settings.PARTNER_AWS_ACCOUNT_ID = "123456789012"


@pytest.fixture
def world(simulator):
    """Acme and globex, not yet set up (no BYOL, nothing registered)."""
    world = simulator.create_demo_world(ready=False)
    return {entry["name"]: entry for entry in world["accounts"]}


def _connect(simulator, demo, *, name: str, deploy: bool = True, **fields) -> AwsAccount:
    """Our row for a customer account; `deploy`: the customer deployed our template (trusts our ID)."""
    customer = Customer.objects.get_or_create(name=name, slug=name.lower())[0]
    account = AwsAccount.objects.create(
        customer=customer,
        account_id=fields.pop("account_id", demo["account_id"]),
        role_arn=fields.pop("role_arn", demo["role_arn"]),
        default_region=demo["region"],
        regions=[demo["region"]],
        **fields,
    )
    if deploy:
        simulator.update_account(demo["account_id"], external_id=account.external_id)
    return account


def _workspaces_calls(simulator, account_id: str) -> list[dict]:
    return [c for c in simulator.calls(account_id=account_id) if c["service"] == "workspaces"]


def test_a_deployed_role_verifies_and_the_byol_state_is_stored(world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    simulator.clear_calls()
    result = account_verify(actor=ACTOR, aws_account=acme)

    assert result.ok, result.message
    assert result.caller_arn.startswith("arn:aws:sts::111111111111:assumed-role/WorkSpacesCorePartnerRole/")
    assert "DescribeAccount answered (BYOL is DISABLED)" in result.message
    counts = simulator.call_counts()
    assert (counts["sts:AssumeRole"], counts["sts:GetCallerIdentity"], counts["DescribeAccount"]) == (1, 1, 1)
    (assume,) = simulator.requests("sts:AssumeRole")
    assert (assume["ExternalId"], assume["RoleArn"]) == (acme.external_id, acme.role_arn)
    acme.refresh_from_db()
    assert (acme.verification_status, acme.dedicated_tenancy_support) == ("VERIFIED", "DISABLED")
    assert acme.verified_at is not None
    event = AuditEvent.objects.get(action="VerifyConnection")
    assert (event.outcome, event.target_id, event.customer_label) == ("SUCCEEDED", "111111111111", "Acme")
    assert event.aws_request_id == simulator.calls("DescribeAccount")[0]["request_id"]
    print(f"\nFIGURE verify_connection calls={dict(sorted(counts.items()))}")


def test_an_onboarded_account_reports_byol_and_its_cidr(simulator):
    demo = simulator.create_demo_world(ready=True)["accounts"][0]
    acme = _connect(simulator, demo, name="Acme")
    result = account_verify(actor=ACTOR, aws_account=acme)
    assert (result.dedicated_tenancy_support, result.management_cidr_range) == (
        "ENABLED",
        demo["management_cidr"],
    )
    acme.refresh_from_db()
    assert acme.dedicated_tenancy_management_cidr_range == demo["management_cidr"]


def test_s2_another_customers_role_with_our_first_customers_external_id_is_refused(world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    globex_demo = world["globex"]
    # Acme's user enters globex's account and role ARN: the row gets its own External ID, never globex's.
    deputy = _connect(simulator, globex_demo, name="Acme", deploy=False)
    simulator.clear_calls()

    result = account_verify(actor=ACTOR, aws_account=deputy)
    assert result.status == "FAILED"
    assert result.message.startswith(
        f"AWS refused to let the partner account 123456789012 assume {globex_demo['role_arn']} with this "
        "connection's External ID (AccessDenied)."
    )
    assert "deploy (or update) the CloudFormation stack" in result.message
    (assume,) = simulator.calls("sts:AssumeRole")
    assert (assume["error_code"], assume["request"]["ExternalId"]) == ("AccessDenied", deputy.external_id)
    assert _workspaces_calls(simulator, "222222222222") == []

    # The deputy itself, at the boundary: globex's role with the External ID acme's role trusts.
    confused = AccountAccess(
        account_id="222222222222",
        region="us-east-1",
        auth_mode="ASSUME_ROLE",
        role_arn=globex_demo["role_arn"],
        external_id=acme.external_id,
    )
    with pytest.raises(AwsAccessDenied):
        role_assume_fresh(confused)
    deputy.refresh_from_db()
    assert (deputy.verification_status, deputy.verified_at) == ("FAILED", None)
    assert AuditEvent.objects.get(target_id="222222222222").outcome == "FAILED"


def test_a_role_that_still_trusts_an_old_external_id_is_named_with_the_fix(world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    simulator.update_account("111111111111", external_id="wsc-an-older-connection")
    result = account_verify(actor=ACTOR, aws_account=acme)
    assert result.status == "FAILED"
    assert f"with sts:ExternalId {acme.external_id}" in result.message
    assert _workspaces_calls(simulator, "111111111111") == []


def test_a_role_missing_the_describe_permission_is_named_with_the_fix(world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    simulator.schedule_fault("DescribeAccount", "error", code="AccessDeniedException")
    result = account_verify(actor=ACTOR, aws_account=acme)
    assert result.status == "FAILED"
    assert "may not call workspaces:DescribeAccount (AccessDeniedException" in result.message
    assert "update the stack with this connection's current template" in result.message
    assert AuditEvent.objects.get().error_code == "AccessDeniedException"


def test_access_keys_of_another_account_are_named(world, simulator):
    globex = world["globex"]
    account = AwsAccount(
        customer=Customer.objects.create(name="Acme", slug="acme"),
        account_id="111111111111",
        auth_mode=AuthMode.ACCESS_KEYS,
        role_arn="",
        access_key_id=globex["admin_access_key_id"],
    )
    account.set_secret_access_key(globex["admin_secret_access_key"])
    account.save()
    result = account_verify(actor=ACTOR, aws_account=account)
    assert result.status == "FAILED"
    assert result.message.startswith(
        "These access keys act in account 222222222222 (arn:aws:iam::222222222222:user/customer-admin), "
        "not in this connection's account 111111111111."
    )
    assert AuditEvent.objects.get().error_code == "WrongAccount"


@override_settings(AWS_CALL_RETRIES=0, AWS_MAX_ATTEMPTS=1)
def test_when_aws_does_not_answer_nothing_is_concluded(world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    assert account_verify(actor=ACTOR, aws_account=acme).ok
    simulator.schedule_fault("DescribeAccount", "error", code="InternalFailure")
    result = account_verify(actor=ACTOR, aws_account=acme)
    assert result.status == "VERIFIED"
    assert result.message.startswith("AWS did not answer (InternalFailure")
    acme.refresh_from_db()
    assert acme.verification_status == "VERIFIED"
    assert list(AuditEvent.objects.order_by("id").values_list("outcome", flat=True)) == [
        "SUCCEEDED",
        "FAILED",
    ]


def test_staff_verify_from_the_change_page_and_on_a_selection(staff_client, world, simulator):
    acme = _connect(simulator, world["acme"], name="Acme")
    globex = _connect(simulator, world["globex"], name="Globex", deploy=False)
    response = staff_client.post(reverse("admin:tenants_awsaccount_verify", args=[acme.pk]))
    assert response["Location"] == reverse("admin:tenants_awsaccount_change", args=[acme.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)][0].startswith(
        "111111111111: VERIFIED. Connected"
    )

    response = staff_client.post(
        reverse("admin:tenants_awsaccount_changelist"),
        {"action": "verify_connections", "_selected_action": [acme.pk, globex.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("111111111111: VERIFIED.") for m in shown)
    assert any(m.startswith("222222222222: FAILED. AWS refused") for m in shown)
    audited = AuditEvent.objects.filter(action="VerifyConnection")
    assert audited.count() == 3 and {e.actor_label for e in audited} == {"staff"}


def test_account_verify_command(world, simulator, capsys):
    acme = _connect(simulator, world["acme"], name="Acme")
    call_command("account_verify", "--account", acme.account_id)
    assert capsys.readouterr().out.startswith("111111111111 VERIFIED: Connected")
    simulator.update_account("111111111111", external_id="wsc-stale")
    with pytest.raises(CommandError, match="111111111111 FAILED: AWS refused"):
        call_command("account_verify", "--account", acme.account_id)
