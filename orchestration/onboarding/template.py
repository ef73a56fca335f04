"""The cross-account role a customer deploys: trust with our External ID, and the seed's tag-based policy.

Pure data, no AWS call and no database. The policy follows the seed guide's "Tag-based authorization
guidelines": creates must carry PartnerManaged=true (aws:RequestTag + aws:TagKeys), changes are allowed
only on resources tagged PartnerManaged=true (aws:ResourceTag), and the partner may not modify or delete
tags at all (no CreateTags or DeleteTags; adoption has its own temporary stack). Directory registration
is scoped to the account's directories and VPCs (or the ones named); BYOL setup and image sharing are
optional and off unless chosen. Reads are not restricted.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

import yaml

from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE

PARTNER_ROLE_NAME = "WorkSpacesCorePartnerRole"
# The CloudFormation console of each partition (region names tell them apart).
_CONSOLE_HOSTS = (("us-gov-", "console.amazonaws-us-gov.com"), ("cn-", "console.amazonaws.cn"))
POLICY_VERSION = "2012-10-17"
# An inline role policy may hold 10,240 characters (IAM quota); the template must stay below it.
INLINE_POLICY_MAX_CHARS = 10_240
# The directory registration needs WorkSpaces' default role to exist and be passed to WorkSpaces.
WORKSPACES_DEFAULT_ROLE = "workspaces_DefaultRole"

# Reads: what the control plane lists and polls. Not restricted (the seed restricts only changes).
READ_ACTIONS = (
    "workspaces:DescribeAccount",
    "workspaces:DescribeAccountModifications",
    "workspaces:ListAvailableManagementCidrRanges",
    "workspaces:DescribeTags",
    "workspaces:DescribeWorkspaceBundles",
    "workspaces:DescribeWorkspaceDirectories",
    "workspaces:DescribeWorkspaceImagePermissions",
    "workspaces:DescribeWorkspaceImages",
    "workspaces:DescribeWorkspaces",
    "workspaces:DescribeWorkspaceSnapshots",
    "workspaces:DescribeWorkspacesConnectionStatus",
    "ec2:DescribeImages",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeNetworkInterfaces",
    "ds:DescribeDirectories",
)
# Creates: allowed only when the request tags the new resource PartnerManaged=true.
CREATE_ACTIONS = (
    "workspaces:CreateWorkspaces",
    "workspaces:ImportWorkspaceImage",
    "workspaces:CreateWorkspaceImage",
    "workspaces:CopyWorkspaceImage",
    "workspaces:CreateWorkspaceBundle",
    "workspaces:RegisterWorkspaceDirectory",
)
# Changes and deletions: allowed only on resources tagged PartnerManaged=true.
MODIFY_ACTIONS = (
    "workspaces:StartWorkspaces",
    "workspaces:StopWorkspaces",
    "workspaces:RebootWorkspaces",
    "workspaces:RebuildWorkspaces",
    "workspaces:RestoreWorkspace",
    "workspaces:TerminateWorkspaces",
    "workspaces:ModifyWorkspaceProperties",
    "workspaces:ModifyWorkspaceState",
    "workspaces:MigrateWorkspace",
    "workspaces:ModifyWorkspaceCreationProperties",
    "workspaces:UpdateWorkspaceBundle",
    "workspaces:DeleteWorkspaceBundle",
    "workspaces:DeleteWorkspaceImage",
    "workspaces:DeregisterWorkspaceDirectory",
)
# No CreateTags or DeleteTags at all (the seed: the partner never modifies or deletes tags); adopting
# and releasing WorkSpaces tag through the customer's temporary stack (adoption.py).
# ModifyAccount has no resource to scope; granted only while the customer wants BYOL set up.
ACCOUNT_SETUP_ACTIONS = ("workspaces:ModifyAccount",)
# Sharing an image with another account; only when the customer chose it (see image_sharing).
IMAGE_SHARING_ACTIONS = ("workspaces:UpdateWorkspaceImagePermission",)
# What registering a directory does on the caller's behalf: authorize WorkSpaces on the AD directory
# and create the WorkSpaces security group in the customer's VPC (AWS::WorkSpaces::Directory handler).
DIRECTORY_AUTHORIZATION_ACTIONS = ("ds:AuthorizeApplication", "ds:UnauthorizeApplication")
SECURITY_GROUP_ACTIONS = ("ec2:CreateSecurityGroup",)
DIRECTORY_REGISTRATION_ACTIONS = DIRECTORY_AUTHORIZATION_ACTIONS + SECURITY_GROUP_ACTIONS

DIRECTORY_ID = re.compile(r"^d-[0-9a-f]{10}$")
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")

# parliament's findings above LOW that the policy keeps on purpose, each with why (issue, action).
ACCEPTED_FINDINGS = {
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:passrole"): (
        "RegisterWorkspaceDirectory passes workspaces_DefaultRole to WorkSpaces; the statement names that "
        "one role in this account and only WorkSpaces may receive it (iam:PassedToService)."
    ),
}


@dataclass(frozen=True)
class RoleOptions:
    """What the partner chose when making the template; everything optional is off by default.

    byol_setup: the AllowByolAccountSetup parameter defaults to true (ModifyAccount, for BYOL).
    image_sharing: the AllowImageSharing parameter defaults to true (UpdateWorkspaceImagePermission).
    directory_ids: the only AD directories the partner may authorize WorkSpaces on (else any in the account).
    vpc_ids: the only VPCs the partner may create security groups in (else any in the account).
    """

    byol_setup: bool = False
    image_sharing: bool = False
    directory_ids: tuple[str, ...] = ()
    vpc_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for value, pattern, what in [
            *((d, DIRECTORY_ID, "directory id") for d in self.directory_ids),
            *((v, VPC_ID, "VPC id") for v in self.vpc_ids),
        ]:
            if not pattern.match(value):
                raise ValueError(f"{value!r} is not a {what}.")


@dataclass(frozen=True)
class Arns:
    """ARNs in the customer's account: literal for the plain policy, Fn::Sub for the template (which
    CloudFormation fills with the partition and account it deploys in)."""

    account_id: str | None = None  # None: the template's ${AWS::AccountId}
    partition: str = "aws"

    def __call__(self, service: str, resource: str, region: str = "*"):
        if self.account_id is None:
            return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}"}
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _sorted(actions) -> list[str]:
    return sorted(set(actions))


def permissions_policy(
    *, account_id: str, partition: str = "aws", options: RoleOptions | None = None
) -> dict:
    """The role's permissions as one IAM policy document for this account (the template holds the same,
    with the optional statements behind parameters that default to what `options` chose)."""
    options = options or RoleOptions()
    arns = Arns(account_id=account_id, partition=partition)
    statements = _statements(arns, options)
    if options.byol_setup:
        statements.append(_byol_statement())
    if options.image_sharing:
        statements.append(_image_sharing_statement(arns))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _statements(arns: Arns, options: RoleOptions) -> list[dict]:
    """The role's statements: one piece, as the customer's security team reads them side by side (read
    all, create only with our tag, change only what carries it, never touch a tag, register a directory
    only in this account's directories and VPCs)."""
    partner_tag = f"aws:RequestTag/{PARTNER_TAG_KEY}"
    resource_tag = f"aws:ResourceTag/{PARTNER_TAG_KEY}"
    directories = [arns("ds", f"directory/{d}") for d in options.directory_ids] or [arns("ds", "directory/*")]
    vpcs = [arns("ec2", f"vpc/{v}") for v in options.vpc_ids] or [arns("ec2", "vpc/*")]
    return [
        {
            "Sid": "ReadEverythingWeManage",
            "Effect": "Allow",
            "Action": _sorted(READ_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "CreateOnlyTaggedPartnerManaged",
            "Effect": "Allow",
            "Action": _sorted(CREATE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {partner_tag: PARTNER_TAG_VALUE},
                "ForAllValues:StringEquals": {"aws:TagKeys": [PARTNER_TAG_KEY]},
            },
        },
        {
            "Sid": "ChangeOnlyPartnerManaged",
            "Effect": "Allow",
            "Action": _sorted(MODIFY_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {resource_tag: PARTNER_TAG_VALUE},
                "ForAllValues:StringEquals": {"aws:TagKeys": [PARTNER_TAG_KEY]},
            },
        },
        {
            "Sid": "AuthorizeWorkSpacesOnThisAccountsDirectories",
            "Effect": "Allow",
            "Action": _sorted(DIRECTORY_AUTHORIZATION_ACTIONS),
            "Resource": directories,
        },
        {
            "Sid": "CreateWorkSpacesSecurityGroupsInThisAccountsVpcs",
            "Effect": "Allow",
            "Action": _sorted(SECURITY_GROUP_ACTIONS),
            "Resource": [arns("ec2", "security-group/*"), *vpcs],
        },
        {
            "Sid": "TagOnlyTheSecurityGroupsWorkSpacesCreates",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": arns("ec2", "security-group/*"),
            "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
        },
        {
            "Sid": "ReadWorkSpacesDefaultRole",
            "Effect": "Allow",
            "Action": "iam:GetRole",
            "Resource": arns("iam", f"role/{WORKSPACES_DEFAULT_ROLE}", region=""),
        },
        {
            "Sid": "PassWorkSpacesDefaultRoleToWorkSpacesOnly",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": arns("iam", f"role/{WORKSPACES_DEFAULT_ROLE}", region=""),
            "Condition": {"StringEquals": {"iam:PassedToService": "workspaces.amazonaws.com"}},
        },
    ]


def _byol_statement() -> dict:
    return {
        "Sid": "ByolAccountSetup",
        "Effect": "Allow",
        "Action": list(ACCOUNT_SETUP_ACTIONS),
        "Resource": "*",  # ModifyAccount acts on the account itself: IAM has no resource to name
    }


def _image_sharing_statement(arns: Arns) -> dict:
    # IAM has no condition key for the account an image is shared with; the control plane shares only
    # with the partner's own account, and this statement only reaches images tagged PartnerManaged.
    return {
        "Sid": "ShareOurImagesWithThePartner",
        "Effect": "Allow",
        "Action": list(IMAGE_SHARING_ACTIONS),
        "Resource": arns("workspaces", "workspaceimage/*"),
        "Condition": {"StringEquals": {f"aws:ResourceTag/{PARTNER_TAG_KEY}": PARTNER_TAG_VALUE}},
    }


def trust_policy(*, partner_account_id: str, external_id: str) -> dict:
    """Only the partner's account may assume the role, and only with this connection's External ID."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "PartnerWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{partner_account_id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def cloudformation_template(
    *,
    partner_account_id: str,
    customer_account_id: str,
    external_id: str,
    max_session_seconds: int,
    role_name: str = PARTNER_ROLE_NAME,
    options: RoleOptions | None = None,
) -> dict:
    """A stack with the role, for the customer to deploy in their own account; its output is the ARN.

    The optional statements (BYOL setup, image sharing) sit behind parameters the customer sets; each
    defaults to false unless the partner chose it in `options`.

    One piece on purpose: it is a single literal that reads as the template the customer deploys (and
    reviews), parameters, condition, role and output in the order CloudFormation shows them.
    """
    options = options or RoleOptions()
    arns = Arns()
    statements = _statements(arns, options) + [
        {"Fn::If": ["AllowByolSetup", _byol_statement(), {"Ref": "AWS::NoValue"}]},
        {"Fn::If": ["AllowImageSharing", _image_sharing_statement(arns), {"Ref": "AWS::NoValue"}]},
    ]
    policy = {"Version": POLICY_VERSION, "Statement": statements}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "Lets the WorkSpaces Core partner control plane manage WorkSpaces in this account: a role "
            "that only the partner's account can assume, with this connection's External ID, limited "
            f"by tag-based authorization to resources tagged {PARTNER_TAG_KEY}={PARTNER_TAG_VALUE}."
        ),
        "Parameters": {
            "RoleName": {
                "Type": "String",
                "Default": role_name,
                "AllowedPattern": r"^[\w+=,.@-]{1,64}$",
                "Description": "Name of the role the partner assumes.",
            },
            "AllowByolAccountSetup": {
                "Type": "String",
                "Default": "true" if options.byol_setup else "false",
                "AllowedValues": ["true", "false"],
                "Description": (
                    "Let the partner run ModifyAccount once to enable BYOL with the management CIDR "
                    "you confirm. Set to false after setup, or if you configure BYOL yourself."
                ),
            },
            "AllowImageSharing": {
                "Type": "String",
                "Default": "true" if options.image_sharing else "false",
                "AllowedValues": ["true", "false"],
                "Description": (
                    f"Let the partner share images tagged {PARTNER_TAG_KEY}=true "
                    "(UpdateWorkspaceImagePermission). Leave false unless you agreed to it."
                ),
            },
        },
        "Conditions": {
            "AllowByolSetup": {"Fn::Equals": [{"Ref": "AllowByolAccountSetup"}, "true"]},
            "AllowImageSharing": {"Fn::Equals": [{"Ref": "AllowImageSharing"}, "true"]},
        },
        "Rules": {
            "DeployInTheConnectedAccount": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, customer_account_id]},
                        "AssertDescription": (
                            f"This template was made for AWS account {customer_account_id}; deploy it there."
                        ),
                    }
                ]
            }
        },
        "Resources": {
            "PartnerRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Assumed by the WorkSpaces Core partner control plane (tag-based authorization).",
                    "MaxSessionDuration": max(3600, max_session_seconds),
                    "AssumeRolePolicyDocument": trust_policy(
                        partner_account_id=partner_account_id, external_id=external_id
                    ),
                    "Policies": [{"PolicyName": "WorkSpacesCorePartnerTagBased", "PolicyDocument": policy}],
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "Send this ARN back to your partner to complete the connection.",
                "Value": {"Fn::GetAtt": ["PartnerRole", "Arn"]},
            },
            "ExternalId": {
                "Description": "The External ID the role requires (generated by the partner).",
                "Value": external_id,
            },
        },
    }


def render_yaml(document: dict, *, header: str = "") -> str:
    """YAML with CloudFormation's long-form functions (Fn::If, Ref), which any YAML parser reads."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=110)


def render_json(document: dict) -> str:
    return json.dumps(document, indent=2) + "\n"


def cloudformation_create_stack_url(region: str) -> str:
    """The CloudFormation console's "create stack" page in `region`, where the customer uploads a template.

    (A quick-create link would pass the template as `templateURL`, which CloudFormation only fetches from
    S3; the control plane hosts no template there, so the customer uploads the downloaded file.)
    """
    host = next(
        (h for prefix, h in _CONSOLE_HOSTS if region.startswith(prefix)), f"{region}.console.aws.amazon.com"
    )
    return f"https://{host}/cloudformation/home?region={quote(region)}#/stacks/create"
