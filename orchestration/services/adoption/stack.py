"""The customer's temporary adoption/release stack: its template and where the customer deploys it."""

from django.conf import settings

from orchestration.aws.adoption import ADOPTION_ROLE_NAME
from orchestration.onboarding.adoption import adoption_cloudformation_template
from orchestration.onboarding.template import cloudformation_create_stack_url, render_yaml
from tenants.models import AwsAccount

ADOPTION_STACK_NAME = "WorkSpacesCorePartnerAdoption"


def adoption_stack_template(*, aws_account: AwsAccount) -> str:
    """The temporary stack as YAML: the role PartnerAdoptionRole, trusting the partner's account with this
    connection's External ID, allowed only to set PartnerManaged=true on WorkSpaces and to remove that key."""
    template = adoption_cloudformation_template(
        partner_account_id=settings.PARTNER_AWS_ACCOUNT_ID,
        customer_account_id=aws_account.account_id,
        external_id=aws_account.external_id,
    )
    header = (
        f"Temporary WorkSpaces Core partner adoption/release role for AWS account {aws_account.account_id} "
        f"({aws_account.customer.name}).\n"
        f"Deploy it with CloudFormation in that account (any region; IAM is global) as stack "
        f"{ADOPTION_STACK_NAME},\n"
        f"let your partner adopt or release your WorkSpaces, then delete the stack: {ADOPTION_ROLE_NAME}\n"
        "can only set or remove the PartnerManaged tag, and nothing needs it afterwards."
    )
    return render_yaml(template, header=header)


def adoption_stack_quick_create_url(*, aws_account: AwsAccount) -> str:
    """The CloudFormation console's "create stack" page in the account's default region.

    A real quick-create link passes the template as `templateURL`, which must be an S3 (or HTTPS) address
    CloudFormation can fetch; the control plane hosts no template anywhere, so this is the page where the
    customer uploads the file from `adoption_stack_template` ("Upload a template file") and names the
    stack (ADOPTION_STACK_NAME is what the documentation suggests).
    """
    return cloudformation_create_stack_url(aws_account.default_region)
