"""Onboarding (R1, R2): the role template passes cfn-lint, its policy is the seed's tag-based policy and
covers every operation the AWS boundary calls; bad connection records are refused before any AWS call."""

import ast
import fnmatch
import functools
import json
from pathlib import Path

import botocore.session
import pytest
import yaml
from cfnlint.api import lint
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse

from orchestration.actors import Actor
from orchestration.models import AuditEvent, Job
from orchestration.onboarding.adoption import adoption_permissions_policy
from orchestration.onboarding.template import INLINE_POLICY_MAX_CHARS, RoleOptions, permissions_policy
from orchestration.services.onboarding import (
    account_cloudformation_template,
    account_permissions_policy,
    account_trust_policy,
    account_verify,
)
from tenants.choices import VerificationStatus
from tests.factories import AwsAccountFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
PARTNER = "123456789012"
AWS_PACKAGE = Path(__file__).resolve().parents[2] / "orchestration" / "aws"

# The operations of aws-facts.md, by what the seed's policy must do with them.
READS = {
    "DescribeAccount",
    "DescribeAccountModifications",
    "ListAvailableManagementCidrRanges",
    "DescribeTags",
    "DescribeWorkspaceBundles",
    "DescribeWorkspaceDirectories",
    "DescribeWorkspaceImagePermissions",
    "DescribeWorkspaceImages",
    "DescribeWorkspaces",
    "DescribeWorkspaceSnapshots",
    "DescribeWorkspacesConnectionStatus",
}
CREATES = {
    "CreateWorkspaces",
    "ImportWorkspaceImage",
    "CreateWorkspaceImage",
    "CopyWorkspaceImage",
    "CreateWorkspaceBundle",
    "RegisterWorkspaceDirectory",
}
MUTATIONS = {
    "MigrateWorkspace",
    "ModifyWorkspaceCreationProperties",
    "ModifyWorkspaceProperties",
    "ModifyWorkspaceState",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "RestoreWorkspace",
    "StartWorkspaces",
    "StopWorkspaces",
    "UpdateWorkspaceBundle",
    "DeleteWorkspaceBundle",
    "DeleteWorkspaceImage",
    "DeregisterWorkspaceDirectory",
    "TerminateWorkspaces",
}
TAGGING = {"CreateTags", "DeleteTags"}  # only through the temporary adoption role
ACCOUNT_SETUP = {"ModifyAccount"}  # optional, off unless chosen
IMAGE_SHARING = {"UpdateWorkspaceImagePermission"}  # optional, off unless chosen
# IAM prefixes of the services the boundary may call; a new service must be added here on purpose.
IAM_PREFIX = {"workspaces": "workspaces", "ec2": "ec2", "sts": "sts", "ds": "ds"}
# GetCallerIdentity needs no permission: AWS answers it for any valid credentials.
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}


# --- a small IAM evaluator: enough of IAM's condition operators to judge this policy ----------------------
def _condition_holds(operator: str, key: str, expected, context: dict) -> bool:
    expected = expected if isinstance(expected, list) else [expected]
    value = context.get(key)
    if operator == "StringEquals":
        return value is not None and not isinstance(value, list) and value in expected
    if operator == "StringEqualsIfExists":
        return value is None or value in expected
    if operator == "ForAllValues:StringEquals":
        return all(v in expected for v in value or [])
    if operator == "ForAllValues:StringNotEquals":
        return all(v not in expected for v in value or [])
    if operator == "Null":
        return (value is None) == (expected == ["true"])
    raise AssertionError(f"the evaluator does not know {operator}")


def _matches(statement: dict, action: str, context: dict) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if not any(fnmatch.fnmatch(action.lower(), pattern.lower()) for pattern in actions):
        return False
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def allowed(policy: dict, action: str, *, request_tags=None, resource_tags=None, tag_keys=None) -> bool:
    context: dict = {}
    for key, value in (request_tags or {}).items():
        context[f"aws:RequestTag/{key}"] = value
    for key, value in (resource_tags or {}).items():
        context[f"aws:ResourceTag/{key}"] = value
    keys = tag_keys if tag_keys is not None else list(request_tags or {})
    if keys:
        context["aws:TagKeys"] = keys
    statements = policy["Statement"]
    if any(s["Effect"] == "Deny" and _matches(s, action, context) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, context) for s in statements)


# Everything optional chosen: what the role may do at most.
POLICY = permissions_policy(
    account_id="111111111111", options=RoleOptions(byol_setup=True, image_sharing=True)
)
DEFAULT_POLICY = permissions_policy(account_id="111111111111")
ADOPTION_POLICY = adoption_permissions_policy()
MANAGED = {"PartnerManaged": "true"}


@pytest.mark.parametrize("operation", sorted(READS))
def test_reads_are_not_restricted(operation):
    assert allowed(POLICY, f"workspaces:{operation}")
    assert allowed(POLICY, f"workspaces:{operation}", resource_tags={"Owner": "customer"})


@pytest.mark.parametrize("operation", sorted(CREATES))
def test_creates_need_partner_managed_true_in_the_request_and_no_other_key(operation):
    action = f"workspaces:{operation}"
    assert allowed(POLICY, action, request_tags=MANAGED)
    assert not allowed(POLICY, action)
    assert not allowed(POLICY, action, request_tags={"PartnerManaged": "false"})
    assert not allowed(POLICY, action, request_tags={**MANAGED, "CostCenter": "42"})


@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_changes_need_the_resource_tagged_partner_managed(operation):
    action = f"workspaces:{operation}"
    assert allowed(POLICY, action, resource_tags=MANAGED)
    assert not allowed(POLICY, action)
    assert not allowed(POLICY, action, resource_tags={"PartnerManaged": "false", "Owner": "customer"})


@pytest.mark.parametrize("operation", sorted(TAGGING))
def test_the_role_never_adds_changes_or_removes_a_tag(operation):
    action = f"workspaces:{operation}"
    for resource_tags in (MANAGED, {}, {"Owner": "customer"}):
        assert not allowed(POLICY, action, request_tags=MANAGED, resource_tags=resource_tags)
        assert not allowed(POLICY, action, tag_keys=["PartnerManaged"], resource_tags=resource_tags)
        assert not allowed(POLICY, action, request_tags={"Owner": "ops"}, resource_tags=resource_tags)


def test_byol_account_setup_and_image_sharing_are_granted_only_when_asked_for():
    assert allowed(POLICY, "workspaces:ModifyAccount")
    assert not allowed(DEFAULT_POLICY, "workspaces:ModifyAccount")
    assert allowed(POLICY, "workspaces:UpdateWorkspaceImagePermission", resource_tags=MANAGED)
    assert not allowed(
        POLICY, "workspaces:UpdateWorkspaceImagePermission", resource_tags={"Owner": "customer"}
    )
    assert not allowed(DEFAULT_POLICY, "workspaces:UpdateWorkspaceImagePermission", resource_tags=MANAGED)


def test_the_policy_covers_every_operation_of_the_seed_list():
    every = READS | CREATES | MUTATIONS | TAGGING | ACCOUNT_SETUP | IMAGE_SHARING
    assert len(every) == 35
    model_operations = set(botocore.session.get_session().get_service_model("workspaces").operation_names)
    assert every <= model_operations
    assert [op for op in sorted(every) if not _allowed_somehow(f"workspaces:{op}")] == []
    assert allowed(POLICY, "ec2:DescribeImages")


def _allowed_somehow(action: str) -> bool:
    """Allowed in at least one of the situations the control plane is in: a read, a create, a change, or
    (tags) adopting and releasing through the temporary adoption role."""
    return any(
        allowed(policy, action)
        or allowed(policy, action, request_tags=MANAGED)
        or allowed(policy, action, resource_tags=MANAGED)
        for policy in (POLICY, ADOPTION_POLICY)
    )


def _operations_called_by_the_boundary() -> set[tuple[str, str]]:
    """(service, snake_case operation) for every AWS operation named in orchestration/aws/*.py.

    Found as `aws_call(access, "<service>", "<op>", ...)`, any call passing a service name followed by an
    operation name, a client method called directly (`client.modify_account(...)`), or a WorkSpaces
    operation passed around by name (`_batch_action(access, "stop_workspaces", ...)`).
    """
    session = botocore.session.get_session()
    methods = {
        service: set(session.create_client(service, region_name="us-east-1").meta.method_to_api_mapping)
        for service in IAM_PREFIX
    }
    found: set[tuple[str, str]] = set()
    for source in sorted(AWS_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                texts = [
                    a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                    for a in node.args
                ]
                for service, operation in zip(texts, texts[1:], strict=False):
                    if service in IAM_PREFIX and operation is not None:
                        assert operation in methods[service], (
                            f"{source.name}: {service}.{operation} is not an operation"
                        )
                        found.add((service, operation))
                if isinstance(node.func, ast.Attribute) and node.func.attr in methods["workspaces"]:
                    found.add(("workspaces", node.func.attr))
                if isinstance(node.func, ast.Name) and node.func.id == "aws_call" and len(texts) > 1:
                    assert texts[1] in IAM_PREFIX, (
                        f"{source.name}: add the IAM prefix of service {texts[1]!r}"
                    )
            elif isinstance(node, ast.Constant) and node.value in methods["workspaces"]:
                found.add(("workspaces", node.value))
    return found


@functools.cache  # building a client loads its service model: once per service, not once per operation
def _client(service: str):
    return botocore.session.get_session().create_client(service, region_name="us-east-1")


def _action(service: str, operation: str) -> str:
    return f"{IAM_PREFIX[service]}:{_client(service).meta.method_to_api_mapping[operation]}"


@pytest.mark.slow
def test_every_operation_the_boundary_calls_is_allowed_by_the_policy():
    called = {_action(service, operation) for service, operation in _operations_called_by_the_boundary()}
    # The scan sees the boundary as it is: these calls exist today, so it cannot come back empty.
    assert {
        "workspaces:CreateWorkspaces",
        "workspaces:StopWorkspaces",
        "workspaces:DescribeAccount",
        "workspaces:ModifyAccount",
        "sts:GetCallerIdentity",
    } <= called
    missing = [action for action in sorted(called - NO_PERMISSION_NEEDED) if not _allowed_somehow(action)]
    assert missing == [], (
        f"the role's policy does not allow {missing}: add them to orchestration/onboarding/template.py"
    )


def resolve_sub(node, account_id: str):
    """The template's Fn::Sub ARNs as CloudFormation fills them in an account of the aws partition."""
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        return node["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account_id)
    if isinstance(node, dict):
        return {key: resolve_sub(value, account_id) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_sub(value, account_id) for value in node]
    return node


# --- the CloudFormation template ---------------------------------------------------------------------------
@pytest.fixture
def account():
    return AwsAccountFactory(account_id="111111111111")


@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.slow
def test_the_template_passes_cfn_lint(account, fmt):
    body = account_cloudformation_template(aws_account=account, fmt=fmt)
    assert [str(match) for match in lint(body)] == []


@pytest.mark.slow
def test_cfn_lint_would_catch_a_misspelt_action(account):
    body = account_cloudformation_template(aws_account=account).replace(
        "workspaces:StopWorkspaces", "workspaces:StopWorkspacez"
    )
    assert any("stopworkspacez" in str(match) for match in lint(body))


@pytest.mark.slow
def test_the_plain_iam_policy_passes_cfn_lint_as_a_managed_policy(account):
    stub = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": account_permissions_policy(aws_account=account)},
            }
        },
    }
    assert [str(match) for match in lint(json.dumps(stub))] == []


@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER, AWS_ASSUME_ROLE_DURATION_SECONDS=7200)
def test_the_role_trusts_only_the_partner_with_this_accounts_external_id(account):
    template = yaml.safe_load(account_cloudformation_template(aws_account=account))
    role = template["Resources"]["PartnerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{PARTNER}:root"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": account.external_id}}
    assert trust == account_trust_policy(aws_account=account)["Statement"][0]
    assert role["MaxSessionDuration"] == 7200
    assert template["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["PartnerRole", "Arn"]}
    (assertion,) = template["Rules"]["DeployInTheConnectedAccount"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "111111111111"]}


def test_the_template_holds_the_same_policy_as_the_json(account):
    template = yaml.safe_load(account_cloudformation_template(aws_account=account))
    document = template["Resources"]["PartnerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    # The optional statements are off by default: the parameters leave them out.
    resolved = [s for s in document["Statement"] if "Fn::If" not in s]
    as_plain = resolve_sub({**document, "Statement": resolved}, account.account_id)
    assert as_plain == account_permissions_policy(aws_account=account)
    assert len(json.dumps(document, separators=(",", ":"))) < INLINE_POLICY_MAX_CHARS


def test_account_template_command(account, capsys):
    call_command("account_template", "--account", account.account_id)
    assert yaml.safe_load(capsys.readouterr().out)["Outputs"]["RoleArn"]
    call_command("account_template", "--account", account.account_id, "--format", "json")
    assert json.loads(capsys.readouterr().out)["Resources"]["PartnerRole"]["Type"] == "AWS::IAM::Role"
    call_command("account_template", "--account", account.account_id, "--policy-only")
    assert json.loads(capsys.readouterr().out) == account_permissions_policy(aws_account=account)
    with pytest.raises(CommandError, match="IAM policies are JSON"):
        call_command("account_template", "--account", account.account_id, "--policy-only", "--format", "yaml")
    with pytest.raises(CommandError, match="No AWS account 999999999999"):
        call_command("account_template", "--account", "999999999999")


# --- verification refused before any AWS call ---------------------------------------------------------------
@pytest.fixture
def no_aws_calls(simulator):
    simulator.clear_calls()
    yield
    assert simulator.calls() == []


def test_a_role_arn_in_another_account_is_refused_without_calling_aws(no_aws_calls):
    account = AwsAccountFactory(
        account_id="111111111111", role_arn="arn:aws:iam::222222222222:role/WorkSpacesCorePartnerRole"
    )
    result = account_verify(actor=ACTOR, aws_account=account)
    assert result.status == VerificationStatus.FAILED
    assert "names account 222222222222, but this connection is for account 111111111111" in result.message
    account.refresh_from_db()
    assert (account.verification_status, account.verified_at) == (VerificationStatus.FAILED, None)
    event = AuditEvent.objects.get(action="VerifyConnection")
    assert (event.outcome, event.target_id, event.error_code) == (
        "REFUSED",
        "111111111111",
        "InvalidConnection",
    )


# --- the admin -----------------------------------------------------------------------------------------------
@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER)
def test_staff_download_the_template_and_the_policies(staff_client, account):
    response = staff_client.get(reverse("admin:tenants_awsaccount_template", args=[account.pk]))
    assert response.status_code == 200
    assert 'filename="workspaces-core-partner-role-111111111111.yaml"' in response["Content-Disposition"]
    assert yaml.safe_load(response.content)["Resources"]["PartnerRole"]["Type"] == "AWS::IAM::Role"
    as_json = staff_client.get(
        reverse("admin:tenants_awsaccount_template", args=[account.pk]), {"format": "json"}
    )
    assert json.loads(as_json.content)["Outputs"]["RoleArn"]
    assert (
        staff_client.get(
            reverse("admin:tenants_awsaccount_template", args=[account.pk]), {"format": "xml"}
        ).status_code
        == 400
    )
    policy = staff_client.get(reverse("admin:tenants_awsaccount_policy", args=[account.pk]))
    assert json.loads(policy.content) == account_permissions_policy(aws_account=account)
    trust = staff_client.get(
        reverse("admin:tenants_awsaccount_policy", args=[account.pk]), {"document": "trust"}
    )
    assert (
        json.loads(trust.content)["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
        == account.external_id
    )
    page = staff_client.get(reverse("admin:tenants_awsaccount_change", args=[account.pk])).content.decode()
    for tool in ("CloudFormation template", "IAM policy (JSON)", "BYOL setup", "Verify connection"):
        assert tool in page


def test_verify_is_post_only_and_nobody_but_staff_gets_in(staff_client, account, no_aws_calls):
    url = reverse("admin:tenants_awsaccount_verify", args=[account.pk])
    assert staff_client.get(url).status_code == 405
    client = Client()
    assert client.post(url).status_code == 302  # to the login page, nothing ran
    assert client.get(reverse("admin:tenants_awsaccount_template", args=[account.pk])).status_code == 302
    assert AuditEvent.objects.count() == 0


def test_reconcile_now_starts_one_job_per_selected_account(staff_client, no_aws_calls):
    accounts = [AwsAccountFactory(), AwsAccountFactory(regions=["us-east-1", "eu-west-1"])]
    response = staff_client.post(
        reverse("admin:tenants_awsaccount_changelist"),
        {"action": "reconcile_now", "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )
    jobs = Job.objects.filter(kind="RECONCILE")
    # In the changelist's order (by name, which the factory makes up), not necessarily the selection's.
    assert sorted((j.params["aws_account_id"], j.total_items, j.requested_by_label) for j in jobs) == sorted(
        [(accounts[0].account_id, 1, "staff"), (accounts[1].account_id, 2, "staff")]
    )
    assert response.content.decode().count("reconciling with AWS in") == 2
