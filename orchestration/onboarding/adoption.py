"""The customer's temporary adoption/release stack: a second role that may only set or remove the
PartnerManaged tag on WorkSpaces.

Pure data, no AWS call and no database, like the steady-state role's template beside it. The customer
deploys it to let the partner adopt WorkSpaces they already run (CreateTags PartnerManaged=true) or
release managed ones when they leave (DeleteTags of that key), and deletes it afterwards: the
steady-state role keeps the seed's rule that the partner never changes that tag.
"""

from orchestration.aws.adoption import ADOPTION_ROLE_NAME
from orchestration.aws.tagguard import PARTNER_TAG_KEY, PARTNER_TAG_VALUE

from .template import POLICY_VERSION, trust_policy

ADOPTION_POLICY_NAME = "PartnerAdoption"
# The stack's whole purpose is two calls on WorkSpaces; an hour is plenty for a job of 5,000.
ADOPTION_SESSION_SECONDS = 3600


def adoption_permissions_policy() -> dict:
    """Tag a WorkSpace PartnerManaged=true and nothing else; remove that one key and nothing else."""

    def workspaces() -> dict:  # a fresh dict each time: YAML would alias a shared one, CloudFormation refuses
        return {"Fn::Sub": "arn:${AWS::Partition}:workspaces:*:${AWS::AccountId}:workspace/*"}

    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AdoptTagPartnerManaged",
                "Effect": "Allow",
                "Action": "workspaces:CreateTags",
                "Resource": workspaces(),
                "Condition": {
                    "StringEquals": {f"aws:RequestTag/{PARTNER_TAG_KEY}": PARTNER_TAG_VALUE},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [PARTNER_TAG_KEY]},
                },
            },
            {
                "Sid": "ReleaseUntagPartnerManaged",
                "Effect": "Allow",
                "Action": "workspaces:DeleteTags",
                "Resource": workspaces(),
                "Condition": {
                    "ForAllValues:StringEquals": {"aws:TagKeys": [PARTNER_TAG_KEY]},
                    "Null": {"aws:TagKeys": "false"},
                },
            },
        ],
    }


def adoption_cloudformation_template(
    *, partner_account_id: str, customer_account_id: str, external_id: str
) -> dict:
    """The temporary stack: the role (fixed name, so the partner finds it), its trust and its policy.

    One piece on purpose: a single literal that reads as the template the customer reviews and deploys.
    """
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "Temporary: lets the WorkSpaces Core partner control plane tag WorkSpaces "
            f"{PARTNER_TAG_KEY}={PARTNER_TAG_VALUE} (adopt WorkSpaces you already run) or remove that tag "
            "(release them), and nothing else. Delete this stack when the adoption or release is done."
        ),
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
            "PartnerAdoptionRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": ADOPTION_ROLE_NAME,
                    "Description": (
                        f"Temporary: the partner may only set or remove {PARTNER_TAG_KEY} on WorkSpaces."
                    ),
                    "MaxSessionDuration": ADOPTION_SESSION_SECONDS,
                    "AssumeRolePolicyDocument": trust_policy(
                        partner_account_id=partner_account_id, external_id=external_id
                    ),
                    "Policies": [
                        {"PolicyName": ADOPTION_POLICY_NAME, "PolicyDocument": adoption_permissions_policy()}
                    ],
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "The role the partner assumes for adoption and release (no need to send it).",
                "Value": {"Fn::GetAtt": ["PartnerAdoptionRole", "Arn"]},
            },
        },
    }
