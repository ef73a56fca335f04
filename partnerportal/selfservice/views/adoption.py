"""Existing WorkSpaces (admin): WorkSpaces in the customer's accounts we do not manage; adopting them and
releasing managed desktops, both through the customer's temporary stack and a job."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orchestration.actors import Actor
from orchestration.names import parse_id_list
from orchestration.services.adoption import (
    ADOPTION_STACK_NAME,
    AdoptionInvalid,
    adoption_stack_quick_create_url,
    adoption_stack_template,
    adoption_start,
    release_start,
    untracked_workspace_list,
)
from partnerportal.selfservice.access import PortalRequest, portal_view
from partnerportal.selfservice.views.common import page
from tenants.access import Capability
from tenants.models import AwsAccount


def _accounts(request: PortalRequest):
    return request.principal.scope(AwsAccount.objects.all()).order_by("account_id")


@require_GET
@portal_view(Capability.PROVISION)
def existing_index(request: PortalRequest) -> HttpResponse:
    accounts = list(_accounts(request))
    return page(
        request,
        "selfservice/existing.html",
        {
            "accounts": [
                (account, adoption_stack_quick_create_url(aws_account=account)) for account in accounts
            ],
            "untracked": list(untracked_workspace_list(principal=request.principal)[:500]),
            "stack_name": ADOPTION_STACK_NAME,
            "can_release": request.principal.can(Capability.ADMINISTER),
        },
    )


@require_GET
@portal_view(Capability.PROVISION)
def existing_stack_template(request: PortalRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(_accounts(request), pk=pk)
    response = HttpResponse(adoption_stack_template(aws_account=account), content_type="text/yaml")
    response["Content-Disposition"] = f'attachment; filename="adoption-{account.account_id}.yaml"'
    return response


class _Chosen(forms.Form):
    account = forms.IntegerField()


def _run(request: PortalRequest, start, ids: list[str]) -> HttpResponse:
    form = _Chosen(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the AWS account.")
        return redirect("selfservice:existing")
    account = get_object_or_404(_accounts(request), pk=form.cleaned_data["account"])
    try:
        job = start(actor=Actor.for_user(request.user), aws_account=account, workspace_ids=ids)
    except AdoptionInvalid as invalid:
        for errors in invalid.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("selfservice:existing")
    messages.success(
        request,
        f"Job {job.pk} started. When it has finished, delete the stack {ADOPTION_STACK_NAME} from your account.",
    )
    return redirect(reverse("selfservice:job", args=[job.pk]))


@require_POST
@portal_view(Capability.PROVISION)
def existing_adopt(request: PortalRequest) -> HttpResponse:
    return _run(request, adoption_start, request.POST.getlist("workspace_id"))


@require_POST
@portal_view(Capability.ADMINISTER)
def existing_release(request: PortalRequest) -> HttpResponse:
    return _run(request, release_start, parse_id_list(request.POST.get("workspace_ids", "")))
