"""The cross-account role a customer deploys: trust with our External ID, and the seed's tag-based policy.

Pure data, no AWS call and no database. The policy follows the seed guide's "Tag-based authorization
guidelines": creates must carry PartnerManaged=true (aws:RequestTag + aws:TagKeys), changes are allowed
only on resources tagged PartnerManaged=true (aws:ResourceTag), and the PartnerManaged tag itself can
never be added, changed or removed by the partner. Reads are not restricted.
"""

import json

import yaml

from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE

PARTNER_ROLE_NAME = "WorkSpacesCorePartnerRole"
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
    "workspaces:UpdateWorkspaceImagePermission",
    "workspaces:DeregisterWorkspaceDirectory",
)
# Tags other than PartnerManaged, on PartnerManaged resources only; PartnerManaged itself is never granted.
TAG_ACTIONS = ("workspaces:CreateTags", "workspaces:DeleteTags")
# ModifyAccount has no resource to tag; it is granted only while the customer wants BYOL set up.
ACCOUNT_SETUP_ACTIONS = ("workspaces:ModifyAccount",)
# What registering a directory does on the caller's behalf: authorize WorkSpaces on the AD directory
# and create the WorkSpaces security group in the customer's VPC (AWS::WorkSpaces::Directory handler).
DIRECTORY_REGISTRATION_ACTIONS = (
    "ds:AuthorizeApplication",
    "ds:UnauthorizeApplication",
    "ec2:CreateSecurityGroup",
)


def _sorted(actions) -> list[str]:
    return sorted(set(actions))


def permissions_policy(*, allow_byol_setup: bool = True) -> dict:
    """The role's permissions as one IAM policy document (the CloudFormation template holds the same)."""
    statements = _statements()
    if allow_byol_setup:
        statements.append(_byol_statement())
    return {"Version": POLICY_VERSION, "Statement": statements}


def _statements() -> list[dict]:
    """The role's statements: one piece, as the customer's security team reads them side by side (read
    all, create only with our tag, change only what carries it, never touch the tag)."""
    partner_tag = f"aws:RequestTag/{PARTNER_TAG_KEY}"
    resource_tag = f"aws:ResourceTag/{PARTNER_TAG_KEY}"
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
            "Sid": "OtherTagsOnlyOnPartnerManaged",
            "Effect": "Allow",
            "Action": _sorted(TAG_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {resource_tag: PARTNER_TAG_VALUE},
                "ForAllValues:StringNotEquals": {"aws:TagKeys": [PARTNER_TAG_KEY]},
                "Null": {"aws:TagKeys": "false"},
            },
        },
        {
            "Sid": "RegisterDirectoriesOnOurBehalf",
            "Effect": "Allow",
            "Action": _sorted(DIRECTORY_REGISTRATION_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "TagOnlyTheSecurityGroupsWorkSpacesCreates",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": "arn:aws:ec2:*:*:security-group/*",
            "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
        },
        {
            "Sid": "UseWorkSpacesDefaultRole",
            "Effect": "Allow",
            "Action": ["iam:GetRole", "iam:PassRole"],
            "Resource": f"arn:aws:iam::*:role/{WORKSPACES_DEFAULT_ROLE}",
            "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "workspaces.amazonaws.com"}},
        },
    ]


def _byol_statement() -> dict:
    return {
        "Sid": "ByolAccountSetup",
        "Effect": "Allow",
        "Action": list(ACCOUNT_SETUP_ACTIONS),
        "Resource": "*",
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
) -> dict:
    """A stack with the role, for the customer to deploy in their own account; its output is the ARN.

    One piece on purpose: it is a single literal that reads as the template the customer deploys (and
    reviews), parameters, condition, role and output in the order CloudFormation shows them.
    """
    policy = permissions_policy(allow_byol_setup=False)
    policy["Statement"].append(
        {"Fn::If": ["AllowByolSetup", _byol_statement(), {"Ref": "AWS::NoValue"}]},
    )
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
                "Default": "true",
                "AllowedValues": ["true", "false"],
                "Description": (
                    "Let the partner run ModifyAccount once to enable BYOL with the management CIDR "
                    "you confirm. Set to false after setup, or if you configure BYOL yourself."
                ),
            },
        },
        "Conditions": {"AllowByolSetup": {"Fn::Equals": [{"Ref": "AllowByolAccountSetup"}, "true"]}},
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
