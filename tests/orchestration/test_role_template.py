"""The customer's IAM template (issue 12, item 11): no tagging, directory registration scoped, BYOL and image
sharing off unless chosen; cfn-lint and parliament pass every variant, any finding above LOW explained."""

import itertools
import json
from pathlib import Path

import parliament
import pytest
import yaml
from cfnlint.api import lint
from django.core.management import CommandError, call_command
from django.test import override_settings
from parliament import analyze_policy_string, enhance_finding, override_config

from orchestration.onboarding.template import (
    ACCEPTED_FINDINGS,
    RoleOptions,
    cloudformation_template,
    permissions_policy,
    render_yaml,
)
from tests.factories import AwsAccountFactory
from tests.orchestration.test_onboarding import resolve_sub

# The community auditors' findings (permissions management, privilege escalation...) and their severities,
# as `parliament --include-community-auditors` loads them.
override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")

PARTNER = "123456789012"
CUSTOMER = "111111111111"
EXTERNAL_ID = "wsc-test-external-id"
DIRECTORIES = ("d-1234567890", "d-abcdef0123")
VPCS = ("vpc-0123456789abcdef0",)

# Every variant the generator makes: BYOL setup and image sharing on or off, registration scoped or not.
VARIANTS = [
    RoleOptions(byol_setup=byol, image_sharing=sharing, directory_ids=dirs, vpc_ids=vpcs)
    for byol, sharing, (dirs, vpcs) in itertools.product(
        (False, True), (False, True), (((), ()), (DIRECTORIES, VPCS))
    )
]
VARIANT_IDS = [
    f"byol={o.byol_setup}-sharing={o.image_sharing}-scoped={bool(o.directory_ids)}" for o in VARIANTS
]


def template(options: RoleOptions) -> dict:
    return cloudformation_template(
        partner_account_id=PARTNER,
        customer_account_id=CUSTOMER,
        external_id=EXTERNAL_ID,
        max_session_seconds=3600,
        options=options,
    )


def role_policy(document: dict) -> dict:
    return document["Resources"]["PartnerRole"]["Properties"]["Policies"][0]["PolicyDocument"]


def every_statement(policy: dict) -> list[dict]:
    """The statements, with both branches of each Fn::If (whatever the customer sets)."""
    found = []
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            found.extend(s for s in statement["Fn::If"][1:] if s != {"Ref": "AWS::NoValue"})
        else:
            found.append(statement)
    return found


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def unexplained_findings(policy: dict) -> list[str]:
    analysed = analyze_policy_string(json.dumps(policy), include_community_auditors=True)
    problems = []
    for finding in map(enhance_finding, analysed.findings):
        if finding.severity in ("LOW", "INFO"):
            continue
        actions = (finding.location or {}).get("actions") or [None]
        problems += [
            f"{finding.severity} {finding.issue} {action}: {finding.detail}"
            for action in actions
            if (finding.issue, action) not in ACCEPTED_FINDINGS
        ]
    return problems


@pytest.mark.parametrize("options", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.slow
def test_every_variant_passes_cfn_lint(options):
    assert [str(match) for match in lint(render_yaml(template(options)))] == []


@pytest.mark.parametrize("options", VARIANTS, ids=VARIANT_IDS)
def test_every_variant_passes_parliament_or_explains_why(options):
    assert unexplained_findings(permissions_policy(account_id=CUSTOMER, options=options)) == []
    # The template's own document, every optional statement switched on, as CloudFormation resolves it.
    switched_on = {
        **role_policy(template(options)),
        "Statement": every_statement(role_policy(template(options))),
    }
    assert unexplained_findings(resolve_sub(switched_on, CUSTOMER)) == []


def test_every_accepted_finding_still_occurs():
    """An explanation for a finding the policy no longer has would be a stale comment."""
    widest = permissions_policy(account_id=CUSTOMER, options=RoleOptions(byol_setup=True, image_sharing=True))
    analysed = analyze_policy_string(json.dumps(widest), include_community_auditors=True)
    found = {
        (finding.issue, action)
        for finding in analysed.findings
        for action in (finding.location or {}).get("actions") or []
    }
    assert set(ACCEPTED_FINDINGS) <= found


def test_parliament_would_catch_a_wide_policy():
    wide = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "iam:GetRole"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "workspaces.amazonaws.com"}},
            }
        ],
    }
    assert unexplained_findings(wide) != []


@pytest.mark.parametrize("options", VARIANTS, ids=VARIANT_IDS)
def test_no_variant_lets_the_partner_modify_or_delete_tags(options):
    for policy in (role_policy(template(options)), permissions_policy(account_id=CUSTOMER, options=options)):
        granted = {action for s in every_statement(policy) for action in actions_of(s)}
        assert not {"workspaces:CreateTags", "workspaces:DeleteTags", "workspaces:*"} & granted


def _statement_with(policy: dict, action: str) -> dict:
    (statement,) = [s for s in every_statement(policy) if action in actions_of(s)]
    return statement


def test_directory_registration_is_scoped_to_the_accounts_directories_and_vpcs():
    policy = permissions_policy(account_id=CUSTOMER)
    for action in ("ds:AuthorizeApplication", "ds:UnauthorizeApplication"):
        assert _statement_with(policy, action)["Resource"] == [f"arn:aws:ds:*:{CUSTOMER}:directory/*"]
    assert _statement_with(policy, "ec2:CreateSecurityGroup")["Resource"] == [
        f"arn:aws:ec2:*:{CUSTOMER}:security-group/*",
        f"arn:aws:ec2:*:{CUSTOMER}:vpc/*",
    ]

    named = permissions_policy(
        account_id=CUSTOMER, options=RoleOptions(directory_ids=DIRECTORIES, vpc_ids=VPCS)
    )
    assert _statement_with(named, "ds:AuthorizeApplication")["Resource"] == [
        f"arn:aws:ds:*:{CUSTOMER}:directory/{d}" for d in DIRECTORIES
    ]
    assert _statement_with(named, "ec2:CreateSecurityGroup")["Resource"][1:] == [
        f"arn:aws:ec2:*:{CUSTOMER}:vpc/{VPCS[0]}"
    ]
    # In the template CloudFormation fills in the partition and the account it deploys in.
    in_template = _statement_with(role_policy(template(RoleOptions())), "ds:AuthorizeApplication")
    assert in_template["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ds:*:${AWS::AccountId}:directory/*"}
    ]
    for statement in every_statement(policy):
        if statement["Resource"] == "*":
            # Only reads, tag-conditioned creates and changes, and ModifyAccount (no resource) may say "*".
            assert "Condition" in statement or statement["Sid"] in {
                "ReadEverythingWeManage",
                "ByolAccountSetup",
            }


def test_byol_setup_and_image_sharing_are_off_unless_chosen():
    for action in ("workspaces:ModifyAccount", "workspaces:UpdateWorkspaceImagePermission"):
        plain = permissions_policy(account_id=CUSTOMER)
        assert all(action not in actions_of(s) for s in plain["Statement"])
    default = template(RoleOptions())
    assert default["Parameters"]["AllowByolAccountSetup"]["Default"] == "false"
    assert default["Parameters"]["AllowImageSharing"]["Default"] == "false"
    # Behind the parameters, and only there.
    conditional = [s["Fn::If"][0] for s in role_policy(default)["Statement"] if "Fn::If" in s]
    assert conditional == ["AllowByolSetup", "AllowImageSharing"]

    chosen = template(RoleOptions(byol_setup=True, image_sharing=True))
    assert chosen["Parameters"]["AllowByolAccountSetup"]["Default"] == "true"
    assert chosen["Parameters"]["AllowImageSharing"]["Default"] == "true"
    sharing = _statement_with(
        permissions_policy(account_id=CUSTOMER, options=RoleOptions(image_sharing=True)),
        "workspaces:UpdateWorkspaceImagePermission",
    )
    assert sharing["Resource"] == f"arn:aws:workspaces:*:{CUSTOMER}:workspaceimage/*"
    assert sharing["Condition"] == {"StringEquals": {"aws:ResourceTag/PartnerManaged": "true"}}


def test_options_refuse_what_is_not_an_id():
    with pytest.raises(ValueError, match="not a directory id"):
        RoleOptions(directory_ids=("corp.example.com",))
    with pytest.raises(ValueError, match="not a VPC id"):
        RoleOptions(vpc_ids=("*",))


@pytest.mark.django_db
@override_settings(PARTNER_AWS_ACCOUNT_ID=PARTNER)
def test_account_template_command_takes_the_options(capsys):
    account = AwsAccountFactory(account_id=CUSTOMER)
    call_command("account_template", "--account", CUSTOMER)
    assert (
        yaml.safe_load(capsys.readouterr().out)["Parameters"]["AllowByolAccountSetup"]["Default"] == "false"
    )
    call_command(
        "account_template",
        "--account",
        CUSTOMER,
        "--byol-setup",
        "--directory-id",
        DIRECTORIES[0],
        "--policy-only",
    )
    policy = json.loads(capsys.readouterr().out)
    assert _statement_with(policy, "workspaces:ModifyAccount")["Resource"] == "*"
    assert _statement_with(policy, "ds:AuthorizeApplication")["Resource"] == [
        f"arn:aws:ds:*:{account.account_id}:directory/{DIRECTORIES[0]}"
    ]
    with pytest.raises(CommandError, match="not a VPC id"):
        call_command("account_template", "--account", CUSTOMER, "--vpc-id", "default")
